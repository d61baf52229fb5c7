#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vkbnn::detail {

// The validated SPIR-V of shaders/<name>.comp, embedded at build time.
std::span<const uint32_t> shader_spirv(std::string_view name);

}  // namespace vkbnn::detail
