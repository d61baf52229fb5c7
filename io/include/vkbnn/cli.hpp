#pragma once

#include <exception>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "vkbnn/device.hpp"
#include "vkbnn/error.hpp"
#include "vkbnn/model.hpp"

namespace vkbnn::cli {

// Runs a tool's body after its command line has been parsed: any exception becomes one line
// "<tool>: error: <what>" on stderr and exit status 1.
template <class Body>
int guarded_main(const char* tool, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << std::endl;
  } catch (...) {
    std::cerr << tool << ": error: unknown exception" << std::endl;
  }
  return 1;
}

// Parses the command line. On a command-line error CLI11 prints the message and the tool exits
// with status 1, as for every other error (CLI11's own codes are 100 and above); --help exits 0.
// Returns the exit status when the tool should stop, nothing when it should run.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  return std::nullopt;
}

// With VKBNN_VALIDATION=1 (as the tests run every tool) the Khronos layer checks the tool's Vulkan
// use; one message and the tool fails with status 2, as vkbnn-studio does, whatever it printed.
// Called once the tool's Networks are gone, so their teardown is checked too.
inline int validated(const char* tool, const Context& context, int status) {
  if (const uint32_t messages = context.validation_message_count(); messages > 0) {
    std::cerr << tool << ": error: " << messages << " Vulkan validation message(s)" << std::endl;
    return 2;
  }
  return status;
}

// CLI::PositiveNumber's message prints the largest double; this one says what is wanted.
inline CLI::Validator positive_integer() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          size_t used = 0;
          if (std::stoll(value, &used) > 0 && used == value.size()) return {};
        } catch (const std::exception&) {
        }
        return "'" + value + "' is not a positive integer";
      },
      "POSITIVE");
}

// "HxW" as --input-size takes it: two positive integers. Throws Error naming `option` otherwise.
inline std::pair<int64_t, int64_t> parse_input_size(const std::string& text, const std::string& option = "--input-size") {
  int64_t h = 0, w = 0;
  char x = 0, rest = 0;
  std::istringstream in(text);
  if (!(in >> h >> x >> w) || (x != 'x' && x != 'X') || in >> rest || h <= 0 || w <= 0)
    throw Error(option + ": expected HxW, e.g. 224x224, got '" + text + "'");
  return {h, w};
}

// The tools' --input-size for a model converted with --dynamic-size: every 4-D input at H x W
// (Model::with_input_sizes, which refuses a model that cannot run at that size); the model
// itself when `size` is empty. The metadata's input size follows, so images are resized to it.
inline Model at_input_size(const Model& model, const std::string& size) {
  if (size.empty()) return model;
  const auto [h, w] = parse_input_size(size);
  std::vector<std::vector<int64_t>> sizes;
  for (const TensorDesc& input : model.inputs())
    sizes.push_back(input.shape.size() == 4 ? std::vector<int64_t>{h, w} : std::vector<int64_t>{});
  return model.with_input_sizes(sizes);
}

// Adds --input-size to a tool that runs models.
inline void add_input_size_option(CLI::App& app, std::string& size) {
  app.add_option("--input-size", size,
                 "Run at this input size, HxW, a model converted with --dynamic-size (default: the model's)");
}

}  // namespace vkbnn::cli
