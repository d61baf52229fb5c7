// Feeds files to a fuzz target's entry point without libFuzzer, so that the committed corpus and
// every crash reproducer run as ordinary tests in any build. Arguments are files or folders
// (every file inside, sorted); a crash, abort or escaped exception fails the run.
// `--max-cpu-seconds S` first also fails it when one input takes more than S seconds of the
// process's CPU time: the bound keeps the inputs that fuzzing found slow (fuzz-slow-*) fixed.
// CPU time rather than wall time, so that other work on a loaded machine does not count.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replays files through a fuzz target's entry point"};
  double max_cpu_seconds = 0;
  std::vector<std::filesystem::path> args;
  app.add_option("--max-cpu-seconds", max_cpu_seconds, "CPU time one input may take (0: no bound)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("inputs", args, "files and folders of inputs")->required();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::filesystem::path> files;
  for (const auto& arg : args) {
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file() && entry.path().filename() != ".gitkeep") files.push_back(entry.path());
    } else if (std::filesystem::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::cerr << arg.string() << ": no such file or folder\n";
      return 1;
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "no inputs to replay\n";
    return 1;
  }
  int slow = 0;
  for (const auto& file : files) {
    std::cout << file.string() << std::flush;  // the last name shows which one crashed
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const double start = cpu_seconds();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double used = cpu_seconds() - start;
    std::cout << "  " << used << " s CPU" << std::endl;
    if (max_cpu_seconds > 0 && used > max_cpu_seconds) {
      std::cerr << file.string() << ": took " << used << " s of CPU time, more than the " << max_cpu_seconds
                << " s allowed per input\n";
      ++slow;
    }
  }
  std::cout << files.size() << " inputs replayed\n";
  return slow == 0 ? 0 : 1;
}
