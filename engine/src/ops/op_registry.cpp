#include <array>
#include <string>
#include <utility>

#include "ops/op.hpp"

namespace vkbnn::detail {
namespace {

using KindOf = const OpKind& (*)();
constexpr size_t kOps = static_cast<size_t>(fb::OpParams::MAX);

// Every OpParams value after NONE, in order: flatc numbers a union's members from 1 up.
template <size_t... I>
constexpr std::array<KindOf, sizeof...(I)> make_table(std::index_sequence<I...>) {
  return {&op_kind_of<static_cast<fb::OpParams>(I + 1)>...};
}
constexpr auto kTable = make_table(std::make_index_sequence<kOps>{});

// The declarations in op.hpp come from a list CMake reads out of the schema; flatc's enum is the
// authority, so the two must agree.
#define VKBNN_OP(Name) +1
constexpr size_t kDeclared = 0
#include "vkbnn_ops.inc"
    ;
#undef VKBNN_OP
static_assert(kDeclared == kOps, "engine/CMakeLists.txt misread the schema's OpParams union");

}  // namespace

const OpKind& op_kind(fb::OpParams type) {
  const auto index = static_cast<size_t>(type);
  if (type == fb::OpParams::NONE || index > kOps) throw ModelError("unknown op type " + std::to_string(index));
  return kTable[index - 1]();
}

}  // namespace vkbnn::detail
