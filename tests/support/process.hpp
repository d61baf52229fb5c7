#pragma once

#include <string>
#include <vector>

namespace vkbnn::test {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a program with arguments (no shell quoting issues: each argument is quoted).
ProcessResult run_process(const std::vector<std::string>& argv);

// Paths of the project's executables in the build tree, and the Python with torch.
std::string tool_path(const std::string& name);
std::string python();

}  // namespace vkbnn::test
