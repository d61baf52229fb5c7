// Build-time generator of the engine's shader interface, so that the C++ side and the GLSL side
// of a dispatch cannot drift apart:
//
//   shader_interface_gen enums <out.glsl>
//     writes the schema's enums as GLSL #defines (ACT_RELU, LINK_SQUEEZE, PAD_REFLECT, ...); the
//     shaders include it instead of restating the values.
//   shader_interface_gen interface <out.hpp> <name>=<file.spv>...
//     reads each compiled shader's specialization constants and push-constant block from its
//     SPIR-V and writes a C++ header with one struct per shader: `Spec` and `Push` with the
//     shader's own names, types and defaults, the specialization map entries from offsetof, and
//     the ShaderId enum that names the shaders.
//
// Reflecting the SPIR-V rather than parsing GLSL sees exactly what glslang compiled (includes,
// macros, constants the optimiser dropped).

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/shader_codes.hpp"
#include "vkbnn_model_generated.h"

namespace {

// Schema enum value names in GLSL style: LeakyRelu -> LEAKY_RELU, PRelu -> PRELU.
std::string upper_snake(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = name[i];
    if (i > 0 && std::isupper(c) && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                                     std::isdigit(static_cast<unsigned char>(name[i - 1]))))
      out += '_';
    out += static_cast<char>(std::toupper(c));
  }
  return out;
}

template <typename E, size_t N>
void write_enum(std::ostream& out, const char* schema_name, const char* prefix, const E (&values)[N],
                const char* const* names) {
  out << "// fb::" << schema_name << "\n";
  for (size_t i = 0; i < N; ++i)
    out << "#define " << prefix << upper_snake(names[i]) << ' ' << static_cast<unsigned>(values[i]) << "u\n";
}

int write_enums(const std::string& path) {
  namespace fb = vkbnn::fb;
  std::ostringstream out;
  out << "// Generated from engine/schema/vkbnn_model.fbs by shaders/generator: the schema's enums as the\n"
         "// shaders compare them. Do not edit.\n";
  write_enum(out, "DataType", "TYPE_", fb::EnumValuesDataType(), fb::EnumNamesDataType());
  write_enum(out, "ActivationKind", "ACT_", fb::EnumValuesActivationKind(), fb::EnumNamesActivationKind());
  write_enum(out, "PoolKind", "POOL_", fb::EnumValuesPoolKind(), fb::EnumNamesPoolKind());
  write_enum(out, "BinaryKind", "OP_", fb::EnumValuesBinaryKind(), fb::EnumNamesBinaryKind());
  write_enum(out, "BinaryPadding", "BPAD_", fb::EnumValuesBinaryPadding(), fb::EnumNamesBinaryPadding());
  write_enum(out, "LinkChannels", "LINK_", fb::EnumValuesLinkChannels(), fb::EnumNamesLinkChannels());
  write_enum(out, "LinkGroupOrder", "LINK_ORDER_", fb::EnumValuesLinkGroupOrder(), fb::EnumNamesLinkGroupOrder());
  write_enum(out, "LinkReduce", "LINK_REDUCE_", fb::EnumValuesLinkReduce(), fb::EnumNamesLinkReduce());
  write_enum(out, "BinaryActivationKind", "BACT_", fb::EnumValuesBinaryActivationKind(),
             fb::EnumNamesBinaryActivationKind());
  write_enum(out, "PadMode", "PAD_", fb::EnumValuesPadMode(), fb::EnumNamesPadMode());
  write_enum(out, "ResizeMode", "RESIZE_", fb::EnumValuesResizeMode(), fb::EnumNamesResizeMode());
  write_enum(out, "ResizeCoordinates", "COORD_", fb::EnumValuesResizeCoordinates(),
             fb::EnumNamesResizeCoordinates());
  write_enum(out, "ResizeNearest", "NEAREST_", fb::EnumValuesResizeNearest(), fb::EnumNamesResizeNearest());
  write_enum(out, "ReduceKind", "REDUCE_", fb::EnumValuesReduceKind(), fb::EnumNamesReduceKind());
  write_enum(out, "ArgKind", "ARG_", fb::EnumValuesArgKind(), fb::EnumNamesArgKind());
  using vkbnn::detail::BroadcastFetch;
  using namespace vkbnn::detail::epilogue;
  const std::pair<const char*, uint32_t> codes[] = {
      {"BCAST_SPLAT", static_cast<uint32_t>(BroadcastFetch::Splat)},
      {"BCAST_VEC4", static_cast<uint32_t>(BroadcastFetch::Vec4)},
      {"BCAST_GATHER", static_cast<uint32_t>(BroadcastFetch::Gather)},
      {"BCAST_PLANE", static_cast<uint32_t>(BroadcastFetch::Plane)},
      {"PARAM_SCALE", Scale},
      {"PARAM_SHIFT", Shift},
      {"PARAM_GAMMA", Gamma},
      {"PARAM_SLOPE", Slope},
      {"PARAM_SHIFT_IN", ShiftIn},
      {"PARAM_SHIFT_OUT", ShiftOut},
      {"PARAM_THRESHOLD", Threshold},
  };
  out << "// engine/src/ops/shader_codes.hpp\n";
  for (const auto& [name, value] : codes) out << "#define " << name << ' ' << value << "u\n";
  std::ofstream file(path, std::ios::binary);
  file << out.str();
  if (!file) throw std::runtime_error("cannot write " + path);
  return 0;
}

// --- SPIR-V reflection -------------------------------------------------------------------------

enum Op : uint32_t {
  OpName = 5,
  OpMemberName = 6,
  OpTypeBool = 20,
  OpTypeInt = 21,
  OpTypeFloat = 22,
  OpTypeStruct = 30,
  OpTypePointer = 32,
  OpSpecConstantTrue = 48,
  OpSpecConstantFalse = 49,
  OpSpecConstant = 50,
  OpSpecConstantComposite = 51,
  OpVariable = 59,
  OpDecorate = 71,
  OpMemberDecorate = 72,
};
constexpr uint32_t kDecorationSpecId = 1, kDecorationBuiltIn = 11, kDecorationOffset = 35;
constexpr uint32_t kBuiltInWorkgroupSize = 25, kStorageClassPushConstant = 9;

struct Scalar {
  std::string cpp;  // uint32_t, int32_t, float or uint32_t for bool (VkBool32)
  bool is_bool = false, is_float = false, is_signed = false;
};

struct Field {
  std::string name;
  Scalar type;
  uint32_t id_or_offset = 0;  // constant_id for Spec, byte offset for Push
  uint32_t value = 0;         // default bits (Spec only)
};

struct Interface {
  std::vector<Field> spec, push;
};

std::string literal_string(const std::vector<uint32_t>& words, size_t at, size_t end) {
  std::string s;
  for (size_t i = at; i < end; ++i)
    for (int b = 0; b < 4; ++b) {
      const char c = static_cast<char>((words[i] >> (8 * b)) & 0xFF);
      if (c == 0) return s;
      s += c;
    }
  return s;
}

Interface reflect(const std::string& shader, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < 20 || bytes.size() % 4) throw std::runtime_error(path + " is not a SPIR-V module");
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  if (words[0] != 0x07230203) throw std::runtime_error(path + " is not a SPIR-V module");

  std::map<uint32_t, std::string> names;
  std::map<std::pair<uint32_t, uint32_t>, std::string> member_names;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> member_offsets;
  std::map<uint32_t, uint32_t> spec_ids;
  std::map<uint32_t, Scalar> scalars;
  std::map<uint32_t, std::vector<uint32_t>> structs;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> pointers;  // id -> (storage, pointee)
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> constants;  // id -> (type, default bits)
  std::map<uint32_t, std::string> local_size_names;
  uint32_t workgroup_size = 0, push_pointer_type = 0;
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> composites;

  for (size_t at = 5; at < words.size();) {
    const uint32_t count = words[at] >> 16, op = words[at] & 0xFFFF;
    if (count == 0 || at + count > words.size()) throw std::runtime_error(path + ": malformed instruction");
    const uint32_t* w = &words[at];
    switch (op) {
      case OpName: names[w[1]] = literal_string(words, at + 2, at + count); break;
      case OpMemberName: member_names[{w[1], w[2]}] = literal_string(words, at + 3, at + count); break;
      case OpTypeBool: scalars[w[1]] = {"uint32_t", true, false, false}; break;
      case OpTypeInt:
        if (w[2] == 32) scalars[w[1]] = {w[3] ? "int32_t" : "uint32_t", false, false, w[3] != 0};
        break;
      case OpTypeFloat:
        if (w[2] == 32) scalars[w[1]] = {"float", false, true, false};
        break;
      case OpTypeStruct: structs[w[1]] = std::vector<uint32_t>(w + 2, w + count); break;
      case OpTypePointer: pointers[w[1]] = {w[2], w[3]}; break;
      case OpSpecConstantTrue: constants[w[2]] = {w[1], 1}; break;
      case OpSpecConstantFalse: constants[w[2]] = {w[1], 0}; break;
      case OpSpecConstant: constants[w[2]] = {w[1], w[3]}; break;
      case OpSpecConstantComposite: composites.push_back({w[2], std::vector<uint32_t>(w + 3, w + count)}); break;
      case OpVariable:
        if (w[3] == kStorageClassPushConstant) push_pointer_type = w[1];
        break;
      case OpDecorate:
        if (w[2] == kDecorationSpecId) spec_ids[w[1]] = w[3];
        if (w[2] == kDecorationBuiltIn && w[3] == kBuiltInWorkgroupSize) workgroup_size = w[1];
        break;
      case OpMemberDecorate:
        if (w[3] == kDecorationOffset) member_offsets[{w[1], w[2]}] = w[4];
        break;
      default: break;
    }
    at += count;
  }
  for (const auto& [id, parts] : composites)
    if (id == workgroup_size)
      for (size_t i = 0; i < parts.size() && i < 3; ++i) local_size_names[parts[i]] = std::string("local_size_") + "xyz"[i];

  Interface iface;
  for (const auto& [id, spec_id] : spec_ids) {
    const auto constant = constants.find(id);
    if (constant == constants.end()) continue;
    const auto type = scalars.find(constant->second.first);
    if (type == scalars.end())
      throw std::runtime_error(shader + ": specialization constant " + std::to_string(spec_id) +
                               " is not a 32-bit scalar or bool");
    std::string name = names.count(id) ? names[id] : "";
    if (name.empty() && local_size_names.count(id)) name = local_size_names[id];
    if (name.empty()) throw std::runtime_error(shader + ": specialization constant " + std::to_string(spec_id) + " has no name");
    iface.spec.push_back({name, type->second, spec_id, constant->second.second});
  }
  std::sort(iface.spec.begin(), iface.spec.end(),
            [](const Field& a, const Field& b) { return a.id_or_offset < b.id_or_offset; });

  if (push_pointer_type) {
    const uint32_t block = pointers[push_pointer_type].second;
    const auto& members = structs[block];
    for (uint32_t m = 0; m < members.size(); ++m) {
      const auto type = scalars.find(members[m]);
      if (type == scalars.end() || type->second.is_bool)
        throw std::runtime_error(shader + ": push constant member " + std::to_string(m) +
                                 " is not a 32-bit int, uint or float");
      iface.push.push_back({member_names[{block, m}], type->second, member_offsets[{block, m}], 0});
    }
  }
  return iface;
}

std::string default_literal(const Field& f) {
  if (f.type.is_float) {
    char text[64];
    std::snprintf(text, sizeof text, "%.9g", std::bit_cast<float>(f.value));
    std::string literal = text;
    if (literal.find_first_of(".e") == std::string::npos) literal += ".0";
    return literal + "f";
  }
  if (f.type.is_signed) return std::to_string(static_cast<int32_t>(f.value));
  return std::to_string(f.value) + "u";
}

std::string struct_body(const Interface& iface) {
  std::ostringstream out;
  out << "  struct Spec {\n";
  for (const auto& f : iface.spec)
    out << "    " << f.type.cpp << ' ' << f.name << " = " << default_literal(f) << ";  // constant_id "
        << f.id_or_offset << (f.type.is_bool ? ", bool" : "") << "\n";
  out << "  };\n  struct Push {\n";
  for (const auto& f : iface.push) out << "    " << f.type.cpp << ' ' << f.name << " = 0;\n";
  out << "  };\n";
  return out.str();
}

int write_interface(const std::string& path, const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, Interface>> shaders;
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected <name>=<file.spv>, got " + arg);
    shaders.push_back({arg.substr(0, eq), reflect(arg.substr(0, eq), arg.substr(eq + 1))});
  }
  std::ostringstream out;
  out << "// Generated from the compiled shaders by shaders/generator. Do not edit.\n"
         "#pragma once\n\n#include <array>\n#include <cstddef>\n#include <cstdint>\n\n"
         "namespace vkbnn::detail {\n\n"
         "// The embedded shaders, one per shaders/*.comp.\n"
         "enum class ShaderId : uint32_t {\n";
  for (const auto& [name, iface] : shaders) out << "  " << name << ",\n";
  out << "};\ninline constexpr size_t kShaderCount = " << shaders.size() << ";\n\n"
      << "inline const char* shader_name(ShaderId id) {\n  constexpr const char* names[] = {";
  for (const auto& [name, iface] : shaders) out << '"' << name << "\", ";
  out << "};\n  return names[static_cast<uint32_t>(id)];\n}\n\n"
         "// One specialization constant: its constant_id and its byte offset in the shader's Spec.\n"
         "// Every constant is 4 bytes (bools as VkBool32).\n"
         "struct SpecEntry {\n  uint32_t constant_id;\n  uint32_t offset;\n};\n\n"
         "// Per shader: Spec holds its specialization constants (each in constant_id order, with the\n"
         "// GLSL defaults), Push its push-constant block; spec_entries maps Spec onto the constants.\n"
         "namespace shader {\n\n";
  std::map<std::string, std::string> first_with_body;
  for (const auto& [name, iface] : shaders) {
    const std::string body = struct_body(iface);
    out << "struct " << name << " {\n  static constexpr ShaderId id = ShaderId::" << name << ";\n";
    if (auto same = first_with_body.find(body); same != first_with_body.end()) {
      // The same interface as an earlier shader (a variant built from the same GLSL): the same
      // types, so one lowering fills them for either.
      out << "  using Spec = " << same->second << "::Spec;\n  using Push = " << same->second << "::Push;\n"
          << "  static constexpr auto& spec_entries = " << same->second << "::spec_entries;\n"
          << "  static constexpr uint32_t push_size = " << same->second << "::push_size;\n};\n\n";
      continue;
    }
    first_with_body.emplace(body, name);
    out << body << "  static constexpr std::array<SpecEntry, " << iface.spec.size() << "> spec_entries{{";
    for (const auto& f : iface.spec)
      out << "\n      {" << f.id_or_offset << ", offsetof(Spec, " << f.name << ")},";
    out << "}};\n  static constexpr uint32_t push_size = " << iface.push.size() * 4 << ";\n};\n";
    if (!iface.spec.empty())
      out << "static_assert(sizeof(" << name << "::Spec) == " << iface.spec.size() * 4 << ");\n";
    for (const auto& f : iface.push)
      out << "static_assert(offsetof(" << name << "::Push, " << f.name << ") == " << f.id_or_offset << ");\n";
    out << "\n";
  }
  out << "}  // namespace shader\n}  // namespace vkbnn::detail\n";
  std::ofstream file(path, std::ios::binary);
  file << out.str();
  if (!file) throw std::runtime_error("cannot write " + path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "enums") return write_enums(args[1]);
    if (args.size() >= 2 && args[0] == "interface")
      return write_interface(args[1], std::vector<std::string>(args.begin() + 2, args.end()));
    std::cerr << "usage: shader_interface_gen enums <out.glsl> | interface <out.hpp> <name>=<file.spv>...\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "shader_interface_gen: " << e.what() << "\n";
    return 1;
  }
}
