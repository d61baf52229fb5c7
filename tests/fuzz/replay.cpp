// Feeds files to a fuzz target's entry point without libFuzzer, so that the committed corpus and
// every crash reproducer run as ordinary tests in any build. Arguments are files or folders
// (every file inside, sorted); a crash, abort or escaped exception fails the run.
// Each input's CPU time is printed with its name, so that a slow one shows in the test's log.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int a = 1; a < argc; ++a) {
    const std::filesystem::path arg = argv[a];
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
  for (const auto& file : files) {
    std::cout << file.string() << std::flush;  // the last name shows which one crashed
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const double start = cpu_seconds();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double used = cpu_seconds() - start;
    std::cout << "  " << used << " s CPU" << std::endl;
  }
  std::cout << files.size() << " inputs replayed\n";
  return 0;
}
