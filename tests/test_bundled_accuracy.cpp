// The README's accuracy table is checked, not only stated: vkbnn-eval runs every bundled model in
// assets/models on the 10,000 Fashion-MNIST test images the setup installs (the
// dataset-fashion-mnist package) and must count exactly the correct answers the README's
// "vkbnn-eval top-1" column gives (the engine is deterministic on a device). Each model is its
// own test, so CTest runs them in parallel with the rest of the suite.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

namespace fs = std::filesystem;

const char* const kBundledModels[] = {"fmnist-cnn-fp32", "fmnist-cnn-int8", "fmnist-mbv2-fp32",
                                      "fmnist-mbv2-int8", "fmnist-bnn",      "fmnist-bnn-el",
                                      "fmnist-bmobilenet-el"};

const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

// Cells of a Markdown table row "| a | b |", trimmed.
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::istringstream in(row.substr(1));
  for (std::string cell; std::getline(in, cell, '|');) {
    const size_t begin = cell.find_first_not_of(' '), end = cell.find_last_not_of(' ');
    out.push_back(begin == std::string::npos ? "" : cell.substr(begin, end - begin + 1));
  }
  return out;
}

// The README table with a "vkbnn-eval top-1" column: model name (the first cell's first word) to
// that column's "NN.NN% (correct/total)".
std::map<std::string, std::string> readme_accuracies() {
  std::ifstream in(source_dir() + "/README.md");
  std::map<std::string, std::string> found;
  size_t column = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("|")) {
      if (!found.empty()) break;  // the end of the table
      column = 0;
      continue;
    }
    const auto row = cells(line);
    if (column == 0) {
      for (size_t i = 0; i < row.size(); ++i)
        if (row[i].starts_with("vkbnn-eval top-1")) column = i;
      continue;
    }
    if (row.size() <= column || row[0].starts_with("---")) continue;
    found[row[0].substr(0, row[0].find(' '))] = row[column];
  }
  return found;
}

TEST(BundledAccuracy, EveryModelHasAReadmeRow) {
  std::set<std::string> bundled;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/assets/models"))
    if (entry.path().extension() == ".vkbnn") bundled.insert(entry.path().stem().string());
  EXPECT_EQ(bundled, std::set<std::string>(std::begin(kBundledModels), std::end(kBundledModels)))
      << "a bundled model without an accuracy test (kBundledModels)";
  const auto readme = readme_accuracies();
  for (const auto& name : bundled) EXPECT_TRUE(readme.count(name)) << name << " has no row in the README's table";
}

class BundledModelAccuracy : public ::testing::TestWithParam<const char*> {};

TEST_P(BundledModelAccuracy, IsWhatTheReadmeSays) {
  const std::string name = GetParam();
  const auto readme = readme_accuracies();
  ASSERT_TRUE(readme.count(name)) << name << " has no row in the README's accuracy table";
  std::smatch stated;
  ASSERT_TRUE(std::regex_search(readme.at(name), stated, std::regex(R"(([0-9.]+)% \((\d+)/(\d+)\))")))
      << readme.at(name);
  ASSERT_TRUE(fs::exists(kFashionMnist / "t10k-images-idx3-ubyte.gz"))
      << "the Fashion-MNIST test set is not in " << kFashionMnist << " (apt-get install dataset-fashion-mnist)";

  const auto r = run_process({tool_path("vkbnn-eval"), source_dir() + "/assets/models/" + name + ".vkbnn",
                              "--images", (kFashionMnist / "t10k-images-idx3-ubyte.gz").string(), "--labels",
                              (kFashionMnist / "t10k-labels-idx1-ubyte.gz").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch measured;
  ASSERT_TRUE(std::regex_search(r.output, measured, std::regex(R"(\ntop-1\s+(([0-9.]+)% \((\d+)/(\d+)\)))")))
      << r.output;
  RecordProperty("top1_correct", measured[3].str());
  EXPECT_EQ(measured[4].str(), stated[3].str()) << "images evaluated";
  EXPECT_EQ(measured[3].str(), stated[2].str()) << "correct answers: vkbnn-eval says " << measured[1].str()
                                                << ", the README " << stated[0].str();
  EXPECT_EQ(measured[2].str(), stated[1].str());
}

INSTANTIATE_TEST_SUITE_P(Readme, BundledModelAccuracy, ::testing::ValuesIn(kBundledModels),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace vkbnn::test
