# Compiler warnings for project code; errors when WSF_WERROR is on (CI).
set(WSF_WARNINGS
    -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wformat=2 -Wvla)
if(WSF_WERROR)
    list(APPEND WSF_WARNINGS -Werror)
endif()

# Applies the project's warning flags to a target.
function(wsf_warnings target)
    target_compile_options(${target} PRIVATE ${WSF_WARNINGS})
endfunction()
