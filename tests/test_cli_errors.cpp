// Bad input reaches the user as one clear error line and exit code 1, never as a crash.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/process.hpp"
#include "support/small_models.hpp"
#include "support/test_support.hpp"

namespace vkbnn::test {
namespace {

std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::path(binary_dir()) / "cli_errors";
  std::filesystem::create_directories(dir);
  return dir / name;
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void expect_clean_failure(const ProcessResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(must_mention), std::string::npos) << r.output;
}

TEST(CliErrors, MissingModelFile) {
  expect_clean_failure(run_process({tool_path("vkbnn-run"), "/nonexistent/model.vkbnn", "x.png"}),
                       "/nonexistent/model.vkbnn");
}

TEST(CliErrors, TruncatedAndCorruptModelFiles) {
  auto bytes = small_classifier(5);
  auto truncated = scratch("truncated.vkbnn");
  write_file(truncated, std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  expect_clean_failure(run_process({tool_path("vkbnn-info"), "--model", truncated.string()}), "truncated.vkbnn");
  auto garbage = scratch("garbage.vkbnn");
  write_file(garbage, std::vector<uint8_t>(1000, 0xAB));
  expect_clean_failure(run_process({tool_path("vkbnn-run"), garbage.string(), "x.png"}), "garbage.vkbnn");
}

TEST(CliErrors, NonImageInput) {
  auto model = scratch("small.vkbnn");
  write_file(model, small_classifier(6));
  auto text = scratch("not-an-image.png");
  write_file(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_clean_failure(run_process({tool_path("vkbnn-run"), model.string(), text.string()}), "not-an-image.png");
  expect_clean_failure(run_process({tool_path("vkbnn-run"), model.string(), scratch("missing.png").string()}),
                       "missing.png");
}

TEST(CliErrors, UnsupportedOnnxOpNamesOpAndNode) {
  auto onnx = scratch("unsupported.onnx");
  auto made = run_process({python(), source_dir() + "/tests/python/make_unsupported_onnx.py", onnx.string()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto r = run_process({tool_path("vkbnn-convert"), onnx.string(), "-o", scratch("unsupported.vkbnn").string()});
  expect_clean_failure(r, "Einsum");
  EXPECT_NE(r.output.find("my_unsupported_node"), std::string::npos) << r.output;
}

TEST(CliErrors, MissingAndInvalidOnnxFiles) {
  expect_clean_failure(run_process({tool_path("vkbnn-convert"), "/nonexistent.onnx", "-o", scratch("x.vkbnn").string()}),
                       "/nonexistent.onnx");
  auto junk = scratch("junk.onnx");
  write_file(junk, std::vector<uint8_t>(100, 0xFF));
  expect_clean_failure(run_process({tool_path("vkbnn-convert"), junk.string(), "-o", scratch("y.vkbnn").string()}),
                       "junk.onnx");
}

// The ONNX files that once crashed vkbnn-convert or made it write a model the engine refused
// (tests/fuzz/crashes/converter, written by tests/fuzz/make_corpus.py): each is one error line
// and exit code 1, and no output file.
TEST(CliErrors, HostileOnnxFilesExitWithOneErrorLine) {
  const auto dir = std::filesystem::path(source_dir()) / "tests/fuzz/crashes/converter";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".onnx") continue;
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    const auto out = scratch(entry.path().stem().string() + ".vkbnn");
    std::filesystem::remove(out);
    const auto r = run_process({tool_path("vkbnn-convert"), entry.path().string(), "-o", out.string()});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(r.output.starts_with("vkbnn-convert: error: ")) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
  EXPECT_GE(files, 12u);
}

}  // namespace
}  // namespace vkbnn::test
