# AddressSanitizer + UndefinedBehaviorSanitizer for the whole build (the asan preset).
if(WSF_SANITIZE)
    set(WSF_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_compile_options(${WSF_SAN_FLAGS})
    add_link_options(${WSF_SAN_FLAGS})
endif()
