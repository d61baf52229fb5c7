#include "support/process.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <sys/wait.h>

#include "support/test_support.hpp"

namespace vkbnn::test {

namespace {
std::string quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv) {
  std::string command;
  for (const auto& arg : argv) command += quote(arg) + " ";
  command += "2>&1";
  ProcessResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.output.append(chunk.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string tool_path(const std::string& name) {
  std::string dir = name == "vkbnn-convert" ? "/converter/" : "/tools/";
  return binary_dir() + dir + name;
}

std::string python() {
  const char* env = std::getenv("VKBNN_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

std::vector<PrintedModel> printed_models(const std::string& output) {
  std::istringstream lines(output);
  std::vector<PrintedModel> models;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    PrintedModel model;
    if (!(words >> model.name)) continue;
    for (std::string word; words >> word;) model.words.push_back(word);
    models.push_back(std::move(model));
  }
  return models;
}

ProcessResult convert_exported(const std::filesystem::path& dir, const std::string& name,
                               const std::vector<std::string>& extra) {
  std::vector<std::string> argv{tool_path("vkbnn-convert"), (dir / (name + ".onnx")).string(), "-o",
                                (dir / (name + ".vkbnn")).string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_process(argv);
}

}  // namespace vkbnn::test
