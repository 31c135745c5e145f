# Warning flags from docs/STYLE.md, applied to every vpass target through vpass_warnings().
set(VPASS_WARNING_FLAGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wwrite-strings -Wvla -Wundef -Wimplicit-fallthrough -Wswitch-enum)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND VPASS_WARNING_FLAGS -Wjump-misses-init)
endif()
if(VPASS_WERROR)
  list(APPEND VPASS_WARNING_FLAGS -Werror)
endif()

function(vpass_warnings target)
  target_compile_options(${target} PRIVATE ${VPASS_WARNING_FLAGS})
endfunction()
