#pragma once

#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "vkbnn/device.hpp"

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

}  // namespace vkbnn::cli
