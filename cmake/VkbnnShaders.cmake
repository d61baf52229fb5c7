# Compiles GLSL compute shaders to SPIR-V, validates each module with spirv-val, and embeds the
# words in a C++ source so that the engine never looks up shader files at run time. The shaders
# include the schema's enums from a generated GLSL header, and the engine's view of each
# shader's constants (shader_interface.hpp) is generated from the compiled SPIR-V, both by
# shaders/generator.
function(vkbnn_embed_shaders out_source generator)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/generated)
  set(enums ${generated}/schema_enums.glsl)
  add_custom_command(
    OUTPUT ${enums}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${generated}
    COMMAND ${generator} enums ${enums}
    DEPENDS ${generator}
    COMMENT "Generating the schema's enums for GLSL"
    VERBATIM)
  set(cases "")
  set(spv_headers "")
  set(interface_args "")
  set(spv_files "")
  foreach(src IN LISTS ARGN)
    get_filename_component(name ${src} NAME_WE)
    # A shader that needs a newer SPIR-V says so in a "// target-env: vulkanX.Y" line.
    file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/${src} target_line REGEX "^// target-env: vulkan[0-9.]+")
    set(target_env vulkan1.1)
    if(target_line MATCHES "target-env: (vulkan[0-9.]+)")
      set(target_env ${CMAKE_MATCH_1})
    endif()
    set(spv ${CMAKE_CURRENT_BINARY_DIR}/spv/${name}.spv)
    set(hdr ${CMAKE_CURRENT_BINARY_DIR}/spv/${name}.h)
    add_custom_command(
      OUTPUT ${spv} ${hdr}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/spv
      COMMAND ${VKBNN_GLSLANG} -V --target-env ${target_env} -I${CMAKE_CURRENT_SOURCE_DIR} -I${generated}
              -o ${spv} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      COMMAND ${VKBNN_SPIRV_VAL} --target-env ${target_env} ${spv}
      COMMAND ${VKBNN_GLSLANG} -V --target-env ${target_env} -I${CMAKE_CURRENT_SOURCE_DIR} -I${generated}
              --vn spirv_${name} -o ${hdr} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPENDS ${src} ${VKBNN_SHADER_INCLUDES} ${enums}
      COMMENT "Compiling and validating shader ${name}"
      VERBATIM)
    list(APPEND spv_headers ${hdr})
    list(APPEND spv_files ${spv})
    list(APPEND interface_args ${name}=${spv})
    string(APPEND includes "#include \"spv/${name}.h\"\n")
    string(APPEND cases "    case ShaderId::${name}: return spirv_${name};\n")
  endforeach()
  set(interface ${generated}/shader_interface.hpp)
  add_custom_command(
    OUTPUT ${interface}
    COMMAND ${generator} interface ${interface} ${interface_args}
    DEPENDS ${generator} ${spv_files}
    COMMENT "Generating the shader interface from the SPIR-V"
    VERBATIM)
  add_custom_target(vkbnn_shader_interface DEPENDS ${interface})
  set(VKBNN_SHADER_INCLUDES_CODE "${includes}")
  set(VKBNN_SHADER_CASES "${cases}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/shader_registry.cpp.in ${out_source} @ONLY)
  set_source_files_properties(${out_source} PROPERTIES OBJECT_DEPENDS "${spv_headers};${interface}")
endfunction()
