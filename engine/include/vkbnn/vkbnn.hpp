#pragma once

#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/model.hpp"
#include "vkbnn/network.hpp"
#include "vkbnn/shape.hpp"
