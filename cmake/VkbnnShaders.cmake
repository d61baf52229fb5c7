# Compiles GLSL compute shaders to SPIR-V, validates each module with spirv-val, and embeds the
# words in a C++ source so that the engine never looks up shader files at run time.
function(vkbnn_embed_shaders out_source)
  set(entries "")
  set(spv_headers "")
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
      COMMAND ${VKBNN_GLSLANG} -V --target-env ${target_env} -I${CMAKE_CURRENT_SOURCE_DIR}
              -o ${spv} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      COMMAND ${VKBNN_SPIRV_VAL} --target-env ${target_env} ${spv}
      COMMAND ${VKBNN_GLSLANG} -V --target-env ${target_env} -I${CMAKE_CURRENT_SOURCE_DIR}
              --vn spirv_${name} -o ${hdr} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPENDS ${src} ${VKBNN_SHADER_INCLUDES}
      COMMENT "Compiling and validating shader ${name}"
      VERBATIM)
    list(APPEND spv_headers ${hdr})
    string(APPEND includes "#include \"spv/${name}.h\"\n")
    string(APPEND entries "    {\"${name}\", {spirv_${name}, std::size(spirv_${name})}},\n")
  endforeach()
  set(VKBNN_SHADER_INCLUDES_CODE "${includes}")
  set(VKBNN_SHADER_ENTRIES "${entries}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/shader_registry.cpp.in ${out_source} @ONLY)
  set_source_files_properties(${out_source} PROPERTIES OBJECT_DEPENDS "${spv_headers}")
endfunction()
