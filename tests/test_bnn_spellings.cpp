// Binarized networks written the ways other BNN code bases write them (tests/python/
// make_bnn_spellings.py, independent of training/bnn_modules.py): each sign, weight and
// Elastic-Link spelling, a binarized ResNet-18 shape at 224x224 and a binarized MobileNet with
// depthwise binary convolutions. Exported at test time, converted, and checked layer by layer
// against what the exporter says each Conv/Gemm is (binary, binary with EL fused, real with a
// note, real), then run against PyTorch's output.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "converter/converter.hpp"
#include "support/process.hpp"
#include "support/test_support.hpp"
#include "vkbnn/io/npy.hpp"

namespace vkbnn::test {
namespace {

const std::vector<std::string> kNetworks = {"where_ste", "reactnet", "cast_sign", "hardtanh_sign", "ties", "ties_ge",
                                            "bireal_downsample", "stays_real", "resnet18", "mobilenet"};

void expect_roles(const convert::Summary& summary, const nlohmann::json& roles) {
  std::map<std::string, const convert::NodeSummary*> by_name;
  for (const auto& n : summary.nodes) by_name[n.name] = &n;
  auto node = [&](const std::string& name) -> const convert::NodeSummary* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };
  size_t layers = 0;
  for (const auto& [role, precision] : std::map<std::string, std::string>{
           {"binary", "binary"}, {"linked", "binary+EL"}, {"real_noted", "fp32"}, {"real", "fp32"}}) {
    for (const auto& name : roles.at(role)) {
      ++layers;
      const auto* n = node(name.get<std::string>());
      ASSERT_NE(n, nullptr) << name << " is not in the summary";
      EXPECT_EQ(n->precision, precision) << role << " layer " << name;
      if (role == "real_noted") {
        EXPECT_NE(n->note.find("stays real"), std::string::npos) << name;
      } else {
        EXPECT_EQ(n->note, "") << name;
      }
    }
  }
  EXPECT_GE(layers, 3u);
}

TEST(BinarizedSpellings, EveryIntendedLayerBinaryAndMatchesPyTorch) {
  const auto dir = std::filesystem::path(binary_dir()) / "bnn_spellings";
  std::filesystem::create_directories(dir);
  auto exported = run_process({python(), source_dir() + "/tests/python/make_bnn_spellings.py", "--network", "all",
                               "--out-dir", dir.string(), "--seed", "5"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  for (const auto& name : kNetworks) {
    SCOPED_TRACE(name);
    ASSERT_NE(exported.output.find(name + "\n"), std::string::npos) << exported.output;
    const auto result = convert::convert_model(convert::load_onnx(dir / (name + ".onnx")));
    std::ifstream roles_file(dir / (name + ".json"));
    expect_roles(result.summary, nlohmann::json::parse(roles_file));

    auto input = io::read_npy(dir / (name + ".input.npy"));
    auto expected = io::read_npy(dir / (name + ".expected.npy"));
    NetworkOptions options;
    options.poison_arena = true;
    Network network(context(), Model::from_bytes(result.bytes), options);
    auto output = network.run(input.data);
    ASSERT_EQ(output.data.size(), expected.data.size());
    EXPECT_TRUE(all_close(output.data, expected.data, 1e-4f, 1e-4f));
  }
}

}  // namespace
}  // namespace vkbnn::test
