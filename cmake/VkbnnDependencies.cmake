# Every dependency comes from the system. A missing one stops configuration with the package
# that provides it, so a new user knows what to install.

# vkbnn_require(<find_package args> DEBIAN <pkg> BREW <formula> VCPKG <port>)
macro(vkbnn_require name)
  cmake_parse_arguments(_req "" "DEBIAN;BREW;VCPKG" "" ${ARGN})
  find_package(${name} ${_req_UNPARSED_ARGUMENTS} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "vkbnn needs ${name}. Install it with: apt-get install ${_req_DEBIAN} "
      "(Homebrew: brew install ${_req_BREW}; vcpkg: vcpkg install ${_req_VCPKG})")
  endif()
endmacro()

macro(vkbnn_require_program var exe)
  cmake_parse_arguments(_req "" "DEBIAN;BREW;VCPKG" "" ${ARGN})
  find_program(${var} ${exe})
  if(NOT ${var})
    message(FATAL_ERROR
      "vkbnn needs the program ${exe}. Install it with: apt-get install ${_req_DEBIAN} "
      "(Homebrew: brew install ${_req_BREW}; vcpkg: vcpkg install ${_req_VCPKG})")
  endif()
endmacro()

vkbnn_require(Vulkan DEBIAN libvulkan-dev BREW "vulkan-loader vulkan-headers molten-vk" VCPKG vulkan)
vkbnn_require(FlatBuffers CONFIG DEBIAN libflatbuffers-dev BREW flatbuffers VCPKG flatbuffers)
vkbnn_require_program(VKBNN_FLATC flatc DEBIAN flatbuffers-compiler BREW flatbuffers VCPKG flatbuffers)
vkbnn_require_program(VKBNN_GLSLANG glslangValidator DEBIAN glslang-tools BREW glslang VCPKG glslang)
vkbnn_require_program(VKBNN_SPIRV_VAL spirv-val DEBIAN spirv-tools BREW spirv-tools VCPKG spirv-tools)

if(VKBNN_BUILD_CONVERTER)
  vkbnn_require(ONNX CONFIG DEBIAN libonnx-dev BREW onnx VCPKG onnx)
  vkbnn_require(Protobuf DEBIAN libprotobuf-dev BREW protobuf VCPKG protobuf)
endif()
if(VKBNN_BUILD_IO)
  vkbnn_require(CLI11 CONFIG DEBIAN libcli11-dev BREW cli11 VCPKG cli11)
  vkbnn_require(nlohmann_json CONFIG DEBIAN nlohmann-json3-dev BREW nlohmann-json VCPKG nlohmann-json)
  vkbnn_require(ZLIB DEBIAN zlib1g-dev BREW zlib VCPKG zlib)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(STB QUIET IMPORTED_TARGET stb)
  endif()
  if(NOT STB_FOUND)
    message(FATAL_ERROR "vkbnn needs stb_image. Install it with: apt-get install libstb-dev "
      "(Homebrew: brew install stb; vcpkg: vcpkg install stb)")
  endif()
endif()
if(VKBNN_BUILD_TESTS)
  vkbnn_require(GTest DEBIAN libgtest-dev BREW googletest VCPKG gtest)
endif()
if(VKBNN_BUILD_BENCHMARKS)
  vkbnn_require(benchmark CONFIG DEBIAN libbenchmark-dev BREW google-benchmark VCPKG benchmark)
endif()
