#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "vkbnn/network.hpp"

namespace vkbnn::tools {

// The per-layer table (layer, op, output shape, GPU us, share of the layers' sum) followed by the
// lines that reconcile it with the wall clock: upload, submit, wait, readback and their total
// end to end, and the layers' sum against the GPU's timestamp span.
std::string format_profile(const Profile& profile);
nlohmann::ordered_json profile_json(const Profile& profile);

}  // namespace vkbnn::tools
