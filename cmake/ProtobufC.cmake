# Compiles .proto files with protoc-c into the build tree (generated code is never committed).
find_program(PROTOC_C protoc-c REQUIRED)

# wsf_protobuf_c(OUT_SRCS OUT_HDRS proto...) sets the generated sources and headers.
function(wsf_protobuf_c out_srcs out_hdrs)
    set(srcs)
    set(hdrs)
    foreach(proto ${ARGN})
        get_filename_component(abs ${proto} ABSOLUTE)
        get_filename_component(dir ${abs} DIRECTORY)
        get_filename_component(name ${abs} NAME_WE)
        set(c ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.c)
        set(h ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.h)
        add_custom_command(
            OUTPUT ${c} ${h}
            COMMAND ${PROTOC_C} --c_out=${CMAKE_CURRENT_BINARY_DIR} -I${dir} ${abs}
            DEPENDS ${abs}
            COMMENT "protoc-c ${name}.proto")
        list(APPEND srcs ${c})
        list(APPEND hdrs ${h})
    endforeach()
    set(${out_srcs} ${srcs} PARENT_SCOPE)
    set(${out_hdrs} ${hdrs} PARENT_SCOPE)
endfunction()
