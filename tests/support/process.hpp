#pragma once

#include <filesystem>
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

// What a generator script (tests/python/make_*_onnx.py) printed: one line per model it wrote, the
// model's name and then words about it (the ONNX ops it holds, its output types, converter flags).
struct PrintedModel {
  std::string name;
  std::vector<std::string> words;
};
std::vector<PrintedModel> printed_models(const std::string& output);

// vkbnn-convert dir/name.onnx -o dir/name.vkbnn, with `extra` arguments after.
ProcessResult convert_exported(const std::filesystem::path& dir, const std::string& name,
                               const std::vector<std::string>& extra = {});

}  // namespace vkbnn::test
