#pragma once

#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

namespace vkbnn::tools {

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

}  // namespace vkbnn::tools
