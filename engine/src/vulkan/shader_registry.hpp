#pragma once

#include <cstdint>
#include <span>

#include "shader_interface.hpp"

namespace vkbnn::detail {

// The validated SPIR-V of shaders/<name>.comp, embedded at build time.
std::span<const uint32_t> shader_spirv(ShaderId id);

}  // namespace vkbnn::detail
