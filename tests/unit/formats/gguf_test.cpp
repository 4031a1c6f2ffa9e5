#include "embstat/formats/gguf.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "fixtures/gguf_builder.hpp"

namespace embstat {
namespace {

using fixtures::GgufBuilder;
using fixtures::GgufLayout;
using fixtures::GgufTensorSpec;
using Bytes = std::vector<std::uint8_t>;

// A GgufFile views the bytes it was parsed from: the helper refuses temporaries.
GgufFile parse(const Bytes& b) {
  return parse_gguf(std::span<const std::uint8_t>(b), "test.gguf");
}
GgufFile parse(Bytes&&) = delete;
void expect_parses(const Bytes& b) {
  EXPECT_NO_THROW(parse_gguf(std::span<const std::uint8_t>(b), "test.gguf"));
}

// Runs f, expecting an embstat::Error of `kind`; returns it for further checks.
Error expect_error(const std::function<void()>& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error thrown";
  return Error(ErrorKind::Internal, "", "no error");
}

Error parse_error(const Bytes& b, ErrorKind kind = ErrorKind::Format) {
  return expect_error([&] { parse_gguf(std::span<const std::uint8_t>(b), "test.gguf"); }, kind);
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// ---- well-formed files ---------------------------------------------------------------------

TEST(Gguf, ParsesTinyModel) {
  GgufLayout layout;
  const Bytes b = fixtures::tiny_model_gguf(false, &layout);
  const GgufFile f = parse(b);
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.alignment, 32u);
  EXPECT_EQ(f.data_offset, layout.data_offset);
  EXPECT_EQ(f.data_offset % 32, 0u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.embedding_length"), 4);
  EXPECT_EQ(f.get_u32("llama.embedding_length"), 4u);
  EXPECT_FALSE(f.get_string("no.such.key").has_value());
  ASSERT_NE(f.get_string_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")->size(), 6u);
  EXPECT_EQ((*f.get_string_array("tokenizer.ggml.tokens"))[4], "\xe2\x96\x81the");
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type"), (std::vector<std::int64_t>{2, 3, 3, 6, 1, 1}));
  ASSERT_EQ(f.tensors.size(), 3u);
  const auto* t = f.find_tensor("token_embd.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ne, (std::vector<std::int64_t>{4, 6}));
  EXPECT_EQ(t->row_elems(), 4);
  EXPECT_EQ(t->n_rows(), 6);
  EXPECT_EQ(t->dtype, DType::F32);
  EXPECT_EQ(t->type_name, "F32");
  EXPECT_EQ(t->n_bytes, 96u);
  EXPECT_EQ(t->file_offset, f.data_offset);
  EXPECT_EQ(t->info_offset, layout.tensor_info_offsets[0]);
  float v;
  std::memcpy(&v, f.tensor_bytes(*t).data() + 4 * (2 * 4 + 3), 4);  // row 2, col 3
  EXPECT_EQ(v, 23.0f);
}

TEST(Gguf, WrongTypeGettersThrowFormatNamingTheKey) {
  const Bytes b = fixtures::tiny_model_gguf();
  const GgufFile f = parse(b);
  auto e = expect_error([&] { f.get_string("llama.embedding_length"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "llama.embedding_length")) << e.what();
  EXPECT_TRUE(contains(e.message(), "u32")) << e.what();
  expect_error([&] { f.get_int("general.name"); }, ErrorKind::Format);
  expect_error([&] { f.get_string_array("tokenizer.ggml.token_type"); }, ErrorKind::Format);
  expect_error([&] { f.get_int_array("tokenizer.ggml.tokens"); }, ErrorKind::Format);
  expect_error([&] { f.get_float("general.name"); }, ErrorKind::Format);
  expect_error([&] { f.get_bool("general.name"); }, ErrorKind::Format);
}

TEST(Gguf, EveryMetadataValueType) {
  using namespace fixtures;
  namespace t = fixtures::gguf_type;
  Bytes u8{200}, i8{0x80}, u16, i16, i64, f64, nested, empty_arr, bool_arr;
  put_u16(u16, 60000);
  put_u16(i16, static_cast<std::uint16_t>(-30000));
  put_u64(i64, static_cast<std::uint64_t>(-5'000'000'000LL));
  const double pi = 3.25;
  std::uint64_t pi_bits;
  std::memcpy(&pi_bits, &pi, 8);
  put_u64(f64, pi_bits);
  // [[1, 2], [], [3]] as an array of arrays of u16, then an array of arrays of strings inside.
  put_u32(nested, t::kArray);
  put_u64(nested, 4);
  put_u32(nested, t::kU16), put_u64(nested, 2), put_u16(nested, 1), put_u16(nested, 2);
  put_u32(nested, t::kU16), put_u64(nested, 0);
  put_u32(nested, t::kU16), put_u64(nested, 1), put_u16(nested, 3);
  put_u32(nested, t::kString), put_u64(nested, 2), put_string(nested, "a"), put_string(nested, "");
  put_u32(empty_arr, t::kString);
  put_u64(empty_arr, 0);
  put_u32(bool_arr, t::kBool);
  put_u64(bool_arr, 3);
  bool_arr.insert(bool_arr.end(), {1, 0, 1});
  const Bytes b = GgufBuilder()
                      .add_raw("u8", t::kU8, u8)
                      .add_raw("i8", t::kI8, i8)
                      .add_raw("u16", t::kU16, u16)
                      .add_raw("i16", t::kI16, i16)
                      .add_u32("u32", 4'000'000'000u)
                      .add_i32("i32", -7)
                      .add_f32("f32", 0.5f)
                      .add_bool("bool", true)
                      .add_string("str", "h\xc3\xa9llo")
                      .add_u64("u64", std::numeric_limits<std::uint64_t>::max())
                      .add_raw("i64", t::kI64, i64)
                      .add_raw("f64", t::kF64, f64)
                      .add_raw("nested", t::kArray, nested)
                      .add_raw("empty", t::kArray, empty_arr)
                      .add_raw("bools", t::kArray, bool_arr)
                      .add_string_array("strs", {"x", "", "yz"})
                      .build();
  const GgufFile f = parse(b);
  EXPECT_EQ(f.kv.size(), 16u);
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.get_int("i8"), -128);
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4'000'000'000LL);
  EXPECT_EQ(f.get_int("i32"), -7);
  EXPECT_EQ(f.get_float("f32"), 0.5);
  EXPECT_EQ(f.get_bool("bool"), true);
  EXPECT_EQ(f.get_string("str"), "h\xc3\xa9llo");
  EXPECT_EQ(f.get_int("i64"), -5'000'000'000LL);
  EXPECT_EQ(f.get_float("f64"), 3.25);
  // u64 above INT64_MAX: present, but not representable as int64.
  EXPECT_EQ(f.find("u64")->value.type, GgufType::U64);
  expect_error([&] { f.get_int("u64"); }, ErrorKind::Format);
  const auto& nest = f.find("nested")->value;
  EXPECT_EQ(nest.elem_type, GgufType::Array);
  ASSERT_EQ(nest.items.size(), 4u);
  EXPECT_EQ(nest.items[0].n_elems, 2u);
  EXPECT_EQ(nest.items[0].int_at(1), 2);
  EXPECT_EQ(nest.items[1].n_elems, 0u);
  EXPECT_EQ(nest.items[2].int_at(0), 3);
  EXPECT_FALSE(nest.items[2].int_at(1).has_value());
  EXPECT_EQ(nest.items[3].strings, (std::vector<std::string_view>{"a", ""}));
  EXPECT_EQ(f.get_string_array("empty")->size(), 0u);
  EXPECT_EQ(f.find("bools")->value.n_elems, 3u);
  EXPECT_EQ(*f.get_string_array("strs"), (std::vector<std::string_view>{"x", "", "yz"}));
  EXPECT_EQ(gguf_type_name(GgufType::Array), "arr");
}

TEST(Gguf, CustomAlignmentLaysTensorsOnIt) {
  std::vector<float> v(8, 1.0f);
  const Bytes b = GgufBuilder().alignment(64).add_f32_matrix("a", 2, 4, v).add_f32_matrix("b", 2, 4, v).build();
  const GgufFile f = parse(b);
  EXPECT_EQ(f.alignment, 64u);
  EXPECT_EQ(f.data_offset % 64, 0u);
  EXPECT_EQ(f.tensors[1].offset, 64u);
}

TEST(Gguf, UndecodableTypeParsesAndIsReportedWhenChosen) {
  // Q8_K (id 15): 292-byte blocks of 256, a type ggml itself cannot convert to f32. Another
  // tensor of that type must not stop the file from opening; choosing it must name the type.
  std::vector<float> embd(6 * 4, 0.5f);
  GgufBuilder b;
  b.add_f32_matrix("token_embd.weight", 6, 4, embd)
      .add_tensor({"blk.0.ffn_up.weight", 15, {256, 2}, Bytes(2 * 292, 0), std::nullopt, std::nullopt});
  const Bytes bytes = b.build();
  const GgufFile f = parse(bytes);
  EXPECT_EQ(f.tensors[1].type_name, "Q8_K");
  EXPECT_FALSE(f.tensors[1].dtype.has_value());
  EXPECT_EQ(f.tensors[1].n_bytes, 584u);
  const auto path = fixtures::write_temp_file("q8k.gguf", bytes);
  const Model m = open_gguf(path, {});
  EXPECT_EQ(m.matrix.n_rows, 6);
  OpenOptions pick;
  pick.tensor = "blk.0.ffn_up.weight";
  auto e = expect_error([&] { open_gguf(path, pick); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "ggml type Q8_K cannot be decoded (embstat decodes F32, F16, Q4_0")) << e.what();
  EXPECT_TRUE(contains(e.message(), "IQ3_S")) << e.what();
  // Without require_matrix (inspect): the tensor is named with its type and shape, no rows.
  pick.require_matrix = false;
  const Model named = open_gguf(path, pick);
  ASSERT_TRUE(named.tensor.has_value());
  EXPECT_EQ(named.tensor->name, "blk.0.ffn_up.weight");
  EXPECT_EQ(named.tensor->dtype, DType::Q8_K);
  EXPECT_EQ(named.matrix.n_rows, 2);
  EXPECT_EQ(named.matrix.n_cols, 256);
  EXPECT_EQ(named.matrix.data, nullptr);
  ASSERT_FALSE(named.notes.empty());
  EXPECT_TRUE(contains(named.notes.back(), "Q8_K cannot be decoded"));
}

// ---- open_gguf on synthetic files ----------------------------------------------------------

TEST(GgufOpen, TinyModelMatrixAndChoice) {
  const auto path = fixtures::write_temp_file("tiny.gguf", fixtures::tiny_model_gguf());
  const Model m = open_gguf(path, {});
  EXPECT_EQ(m.format, "gguf");
  EXPECT_EQ(m.name, "tiny.gguf");
  EXPECT_EQ(m.files, std::vector<std::string>{path});
  ASSERT_TRUE(m.tensor.has_value());
  EXPECT_EQ(m.tensor->name, "token_embd.weight");
  EXPECT_EQ(m.tensor->shape, (std::vector<std::int64_t>{4, 6}));
  EXPECT_EQ(m.tensor->n_bytes, 96u);
  EXPECT_EQ(m.matrix.n_rows, 6);
  EXPECT_EQ(m.matrix.n_cols, 4);
  EXPECT_EQ(m.matrix.dtype, DType::F32);
  EXPECT_FALSE(m.tied);
  EXPECT_TRUE(m.has_output_matrix);
  EXPECT_EQ(m.config.architecture, "llama");
  EXPECT_EQ(m.config.hidden_size, 4);
  const Matrix x = decode_to_f32(m.matrix);
  EXPECT_EQ(x.row(5)[2], 52.0f);

  OpenOptions out;
  out.matrix = MatrixChoice::Output;
  const Model o = open_gguf(path, out);
  EXPECT_EQ(o.tensor->name, "output.weight");
  EXPECT_EQ(decode_to_f32(o.matrix).row(5)[2], -52.0f);

  OpenOptions norm;
  norm.tensor = "output_norm.weight";
  const Model n = open_gguf(path, norm);
  EXPECT_EQ(n.matrix.n_rows, 1);
  EXPECT_EQ(n.matrix.n_cols, 4);

  OpenOptions missing;
  missing.tensor = "nope";
  expect_error([&] { open_gguf(path, missing); }, ErrorKind::Usage);
}

// The only 2-D tensor, named "": read as that tensor (3 x 2 here), not taken for "no tensor".
TEST(GgufOpen, TheOnlyMatrixNamedEmptyIsRead) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  const std::vector<float> norm = {1, 1};
  const Bytes b = GgufBuilder()
                      .add_f32_matrix("", 3, 2, values)
                      .add_tensor({"norm", 0, {2}, fixtures::f32_bytes(norm), std::nullopt, std::nullopt})
                      .build();
  const auto path = fixtures::write_temp_file("empty-name.gguf", b);
  const Model m = open_gguf(path, {});
  ASSERT_TRUE(m.tensor.has_value());
  EXPECT_EQ(m.tensor->name, "");
  EXPECT_EQ(m.matrix.n_rows, 3);
  EXPECT_EQ(m.matrix.n_cols, 2);
  EXPECT_EQ(decode_to_f32(m.matrix).row(2)[1], 6.0f);
  ASSERT_FALSE(m.notes.empty());
  EXPECT_TRUE(contains(m.notes.at(0), "using the only 2-D tensor ''"));
}

TEST(GgufOpen, TiedOutputUsesInputAndSaysSo) {
  const auto path = fixtures::write_temp_file("tied.gguf", fixtures::tiny_model_gguf(true));
  OpenOptions out;
  out.matrix = MatrixChoice::Output;
  const Model m = open_gguf(path, out);
  EXPECT_EQ(m.tensor->name, "token_embd.weight");
  EXPECT_TRUE(m.tied);
  EXPECT_FALSE(m.has_output_matrix);
  bool noted = false;
  for (const auto& n : m.notes) noted = noted || contains(n, "tied");
  EXPECT_TRUE(noted);
}

TEST(GgufOpen, VocabularyOnlyFile) {
  const Bytes b = GgufBuilder()
                      .add_string("tokenizer.ggml.model", "gpt2")
                      .add_string_array("tokenizer.ggml.tokens", {"a",
                                                                  "\xc4\xa0"
                                                                  "b"})
                      .build();
  const auto path = fixtures::write_temp_file("vocab.gguf", b);
  auto e = expect_error([&] { open_gguf(path, {}); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "has no tensors (vocabulary-only file)")) << e.what();
  EXPECT_EQ(e.offset(), 8u);  // the tensor count
  OpenOptions vocab_only;
  vocab_only.require_matrix = false;
  const Model m = open_gguf(path, vocab_only);
  EXPECT_FALSE(m.tensor.has_value());
  EXPECT_EQ(m.vocab.size(), 2u);
}

TEST(GgufOpen, TokenTypeLengthMismatchIsFormat) {
  const Bytes b = GgufBuilder()
                      .add_string("tokenizer.ggml.model", "llama")
                      .add_string_array("tokenizer.ggml.tokens", {"a", "b", "c"})
                      .add_i32_array("tokenizer.ggml.token_type", {1, 1})
                      .build();
  const auto path = fixtures::write_temp_file("mismatch.gguf", b);
  OpenOptions vocab_only;
  vocab_only.require_matrix = false;
  auto e = expect_error([&] { open_gguf(path, vocab_only); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "token_type")) << e.what();
}

// ---- hostile files: one check each -----------------------------------------------------------

TEST(GgufHostile, EveryTruncationIsFormat) {
  const Bytes full = fixtures::tiny_model_gguf();
  expect_parses(full);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      (void)parse(prefix);
      ADD_FAILURE() << "prefix of " << n << " bytes parsed";
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Format) << "prefix " << n << ": " << e.what();
      ASSERT_TRUE(e.offset().has_value()) << "prefix " << n;
      ASSERT_LE(*e.offset(), n) << "prefix " << n << ": " << e.what();
    }
  }
}

TEST(GgufHostile, BadMagic) {
  Bytes b = fixtures::tiny_model_gguf();
  b[0] = 'X';
  auto e = parse_error(b);
  EXPECT_EQ(e.offset(), 0u);
  EXPECT_TRUE(contains(e.message(), "not a GGUF file")) << e.what();
}

TEST(GgufHostile, Versions) {
  auto e = parse_error(GgufBuilder().version(1).build(), ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "version 1")) << e.what();
  EXPECT_EQ(e.offset(), 4u);
  e = parse_error(GgufBuilder().version(4).build(), ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "version 4")) << e.what();
  parse_error(GgufBuilder().version(0).build(), ErrorKind::Format);
  e = parse_error(GgufBuilder().version(0x03000000).build(), ErrorKind::Unsupported);  // v3 written big-endian
  EXPECT_TRUE(contains(e.message(), "big-endian")) << e.what();
  expect_parses(GgufBuilder().version(2).add_u32("k", 1).build());
}

TEST(GgufHostile, HugeCountsRefusedBeforeAllocating) {
  auto e = parse_error(GgufBuilder().n_tensors_override(1ull << 62).build());
  EXPECT_EQ(e.offset(), 8u);
  e = parse_error(GgufBuilder().n_kv_override(1ull << 62).build());
  EXPECT_EQ(e.offset(), 8u);
  parse_error(GgufBuilder().n_kv_override(std::numeric_limits<std::uint64_t>::max()).build());
}

TEST(GgufHostile, LyingStringLengths) {
  using namespace fixtures;
  // A key claiming 2^40 bytes.
  Bytes b = {'G', 'G', 'U', 'F'};
  put_u32(b, 3), put_u64(b, 0), put_u64(b, 1), put_u64(b, 1ull << 40);
  b.resize(b.size() + 64, 'k');
  auto e = parse_error(b);
  EXPECT_EQ(e.offset(), 24u);
  EXPECT_TRUE(contains(e.message(), "1099511627776")) << e.what();
  // A string value claiming 2^40 bytes.
  Bytes v;
  put_u64(v, 1ull << 40);
  GgufLayout layout;
  b = GgufBuilder().add_raw("s", gguf_type::kString, v).build(&layout);
  e = parse_error(b);
  EXPECT_EQ(e.offset(), layout.kv_offsets[0] + 8 + 1 + 4);
  EXPECT_TRUE(contains(e.message(), "'s'")) << e.what();
  // An array string claiming 2^40 bytes.
  Bytes a;
  put_u32(a, gguf_type::kString), put_u64(a, 2), put_string(a, "ok"), put_u64(a, 1ull << 40);
  parse_error(GgufBuilder().add_raw("arr", gguf_type::kArray, a).build());
  // A tensor name claiming 2^40 bytes: written by hand after an empty KV section.
  b = {'G', 'G', 'U', 'F'};
  put_u32(b, 3), put_u64(b, 1), put_u64(b, 0), put_u64(b, 1ull << 40);
  b.resize(b.size() + 64, 0);
  e = parse_error(b);
  EXPECT_EQ(e.offset(), 24u);
}

TEST(GgufHostile, ArrayCounts) {
  using namespace fixtures;
  Bytes a;
  put_u32(a, gguf_type::kU8), put_u64(a, 1ull << 62);
  GgufLayout layout;
  auto e = parse_error(GgufBuilder().add_raw("arr", gguf_type::kArray, a).build(&layout));
  EXPECT_EQ(e.offset(), layout.kv_offsets[0] + 8 + 3 + 4 + 4);  // at the count
  // Under the element cap but more than the bytes left.
  a.clear();
  put_u32(a, gguf_type::kU64), put_u64(a, 1000), put_u64(a, 1);
  parse_error(GgufBuilder().add_raw("arr", gguf_type::kArray, a).build());
  // Strings: each needs at least its 8-byte length.
  a.clear();
  put_u32(a, gguf_type::kString), put_u64(a, 1ull << 29);
  parse_error(GgufBuilder().add_raw("arr", gguf_type::kArray, a).build());
  // Invalid element type.
  a.clear();
  put_u32(a, 13), put_u64(a, 0);
  parse_error(GgufBuilder().add_raw("arr", gguf_type::kArray, a).build());
}

TEST(GgufHostile, InvalidValueTypeAndDeepNesting) {
  using namespace fixtures;
  auto e = parse_error(GgufBuilder().add_raw("k", 13, {}).build());
  EXPECT_TRUE(contains(e.message(), "invalid GGUF value type 13")) << e.what();
  Bytes deep;
  for (int i = 0; i < 20; ++i) put_u32(deep, gguf_type::kArray), put_u64(deep, 1);
  put_u32(deep, gguf_type::kU8), put_u64(deep, 0);
  e = parse_error(GgufBuilder().add_raw("deep", gguf_type::kArray, deep).build());
  EXPECT_TRUE(contains(e.message(), "nested")) << e.what();
}

TEST(GgufHostile, KeysEmptyOrDuplicate) {
  auto e = parse_error(GgufBuilder().add_u32("", 1).build());
  EXPECT_TRUE(contains(e.message(), "empty")) << e.what();
  // Different values: refused, naming the key and both records' offsets.
  GgufLayout layout;
  e = parse_error(GgufBuilder().add_u32("k", 1).add_string("k", "x").build(&layout));
  EXPECT_EQ(e.offset(), layout.kv_offsets[1]);
  EXPECT_TRUE(contains(e.message(), "duplicate metadata key 'k' with different values")) << e.what();
  EXPECT_TRUE(contains(e.message(), fmt::format("offsets {} and {}", layout.kv_offsets[0], layout.kv_offsets[1])))
      << e.what();
  // Same type, other value; and same bytes read as another type: both differ.
  parse_error(GgufBuilder().add_u32("k", 1).add_u32("k", 2).build());
  parse_error(GgufBuilder().add_u32("k", 1).add_i32("k", 1).build());
  parse_error(GgufBuilder().add_string_array("k", {"a", "b"}).add_string_array("k", {"a", "c"}).build());
}

TEST(Gguf, DuplicateKeyWithTheSameValueWarnsAndKeepsOne) {
  GgufLayout layout;
  const Bytes b = GgufBuilder()
                      .add_u32("general.file_type", 7)
                      .add_string("general.name", "x")
                      .add_u32("general.file_type", 7)
                      .add_f32_matrix("token_embd.weight", 2, 4, std::vector<float>(8, 1.0f))
                      .build(&layout);
  const GgufFile f = parse(b);
  ASSERT_EQ(f.kv.size(), 2u);
  EXPECT_EQ(f.get_u32("general.file_type"), 7u);
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_TRUE(contains(f.warnings[0], "'general.file_type' appears twice")) << f.warnings[0];
  EXPECT_TRUE(contains(f.warnings[0], fmt::format("offsets {} and {}", layout.kv_offsets[0], layout.kv_offsets[2])))
      << f.warnings[0];
  const auto path = fixtures::write_temp_file("dup_key.gguf", b);
  const Model m = open_gguf(path, {});
  ASSERT_FALSE(m.notes.empty());
  EXPECT_TRUE(contains(m.notes[0], "appears twice")) << m.notes[0];
}

TEST(GgufHostile, BadAlignment) {
  parse_error(GgufBuilder().add_u32("general.alignment", 0).build());
  auto e = parse_error(GgufBuilder().add_u32("general.alignment", 48).build());
  EXPECT_TRUE(contains(e.message(), "power of two")) << e.what();
  e = parse_error(GgufBuilder().add_u64("general.alignment", 32).build());
  EXPECT_TRUE(contains(e.message(), "u32")) << e.what();
}

GgufTensorSpec f32_spec(std::string name, std::vector<std::int64_t> ne) {
  std::int64_t n = 1;
  for (auto d : ne) n *= d;
  return {std::move(name), 0, std::move(ne), Bytes(static_cast<std::size_t>(n) * 4, 0), std::nullopt, std::nullopt};
}

TEST(GgufHostile, Dimensions) {
  GgufLayout layout;
  auto spec = f32_spec("t", {2, 2});
  spec.n_dims = 5;
  spec.ne = {1, 1, 1, 1, 1};
  auto e = parse_error(GgufBuilder().add_tensor(spec).build(&layout));
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[0] + 8 + 1);  // at n_dims
  EXPECT_TRUE(contains(e.message(), "5 dimensions")) << e.what();

  e = parse_error(GgufBuilder().add_tensor(f32_spec("t", {4, 0})).build(&layout));
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[0] + 8 + 1 + 4 + 8);  // at ne[1]
  EXPECT_TRUE(contains(e.message(), "dimension 1 is 0")) << e.what();

  auto neg = f32_spec("t", {4});
  neg.ne = {-4};
  parse_error(GgufBuilder().add_tensor(neg).build());

  auto big = f32_spec("t", {4});
  big.ne = {1ll << 32, 1ll << 32};  // 2^64 elements
  e = parse_error(GgufBuilder().add_tensor(big).build());
  EXPECT_TRUE(contains(e.message(), "overflows")) << e.what();

  big.ne = {1ll << 40, 1ll << 20, 1};  // 2^60 elements: fits int64, 2^62 bytes: past EOF
  e = parse_error(GgufBuilder().add_tensor(big).build());
  EXPECT_TRUE(contains(e.message(), "past the end")) << e.what();

  // F64: 2^62 elements fit int64, their 2^65 bytes overflow u64.
  GgufTensorSpec q{"q", 28, {1ll << 40, 1ll << 22}, {}, std::nullopt, std::nullopt};
  e = parse_error(GgufBuilder().add_tensor(q).build());
  EXPECT_TRUE(contains(e.message(), "overflows")) << e.what();
}

TEST(GgufHostile, RowNotWholeBlocks) {
  GgufTensorSpec q{"q", 8, {33, 1}, Bytes(34, 0), std::nullopt, std::nullopt};  // Q8_0
  auto e = parse_error(GgufBuilder().add_tensor(q).build());
  EXPECT_TRUE(contains(e.message(), "not a multiple of the Q8_0 block size 32")) << e.what();
}

TEST(GgufHostile, UnknownAndRemovedTypeIds) {
  GgufLayout layout;
  GgufTensorSpec t{"t", 77, {32, 1}, Bytes(128, 0), std::nullopt, std::nullopt};
  auto e = parse_error(GgufBuilder().add_tensor(t).build(&layout), ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "unknown ggml type id 77")) << e.what();
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[0] + 8 + 1 + 4 + 2 * 8);
  t.ggml_type = 4;  // Q4_2, removed from ggml
  e = parse_error(GgufBuilder().add_tensor(t).build(), ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "type id 4")) << e.what();
}

TEST(GgufHostile, EveryGgmlTypeIsSizedAndATruncatedBlockIsRefused) {
  int n_types = 0;
  for (std::uint32_t id = 0; id < 64; ++id) {
    const DTypeInfo* info = ggml_type_info(id);
    if (!info) continue;
    ++n_types;
    SCOPED_TRACE(std::string(info->name));
    GgufTensorSpec t{"t", id, {info->block_elems, 2}, Bytes(2u * info->block_bytes, 0), std::nullopt, std::nullopt};
    const Bytes whole = GgufBuilder().add_tensor(t).build();
    const GgufFile f = parse(whole);
    EXPECT_EQ(f.tensors[0].type_name, info->name);
    EXPECT_EQ(f.tensors[0].n_bytes, 2u * info->block_bytes);
    EXPECT_EQ(f.tensors[0].dtype.has_value(), info->decodable);
    t.data.pop_back();  // the second block lacks its last byte
    GgufLayout layout;
    const auto e = parse_error(GgufBuilder().add_tensor(t).build(&layout));
    EXPECT_EQ(e.offset(), layout.tensor_info_offsets[0]);
    EXPECT_TRUE(contains(e.message(), "past the end")) << e.what();
  }
  EXPECT_EQ(n_types, 35);  // ggml.h: ids 0-42, of which 4, 5, 31-33 and 36-38 were removed
}

TEST(GgufHostile, OffsetPastEnd) {
  auto t = f32_spec("t", {8, 2});
  t.offset = 1 << 20;
  GgufLayout layout;
  auto e = parse_error(GgufBuilder().add_tensor(t).build(&layout));
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[0]);
  EXPECT_TRUE(contains(e.message(), "past the end")) << e.what();
  t.offset = std::numeric_limits<std::uint64_t>::max() - 31;  // aligned, wraps when added
  parse_error(GgufBuilder().add_tensor(t).build());
  // The data itself cut short: the last tensor lacks its final byte.
  Bytes full = fixtures::tiny_model_gguf();
  full.pop_back();
  e = parse_error(full);
  EXPECT_TRUE(contains(e.message(), "'output.weight'")) << e.what();
}

TEST(GgufHostile, MisalignedOffset) {
  auto a = f32_spec("a", {8, 2});
  auto b = f32_spec("b", {8, 2});
  b.offset = 68;
  auto e = parse_error(GgufBuilder().add_tensor(a).add_tensor(b).build());
  EXPECT_TRUE(contains(e.message(), "not a multiple of the alignment 32")) << e.what();
}

TEST(GgufHostile, OverlappingTensors) {
  auto a = f32_spec("a", {8, 2});  // 64 bytes at 0
  auto b = f32_spec("b", {8, 2});
  b.offset = 32;  // shares bytes 32..63 with a
  GgufLayout layout;
  auto e = parse_error(GgufBuilder().add_tensor(a).add_tensor(b).build(&layout));
  EXPECT_TRUE(contains(e.message(), "overlap")) << e.what();
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[1]);
  // Overlap listed in reverse file order is found too.
  a.offset = 32;
  b.offset = 0;
  parse_error(GgufBuilder().add_tensor(a).add_tensor(b).build());
  // Same offset.
  a.offset = 0;
  parse_error(GgufBuilder().add_tensor(a).add_tensor(b).build());
}

TEST(GgufHostile, DuplicateAndOverlongTensorNames) {
  GgufLayout layout;
  auto e = parse_error(GgufBuilder().add_tensor(f32_spec("w", {4})).add_tensor(f32_spec("w", {4})).build(&layout));
  EXPECT_TRUE(contains(e.message(), "duplicate tensor name 'w'")) << e.what();
  EXPECT_EQ(e.offset(), layout.tensor_info_offsets[1]);
  e = parse_error(GgufBuilder().add_tensor(f32_spec(std::string(64, 'n'), {4})).build());
  EXPECT_TRUE(contains(e.message(), "63 byte limit")) << e.what();
  expect_parses(GgufBuilder().add_tensor(f32_spec(std::string(63, 'n'), {4})).build());
}

TEST(GgufHostile, ControlBytesInNamesAreEscapedInMessages) {
  auto e = parse_error(GgufBuilder().add_u32("a\nb", 1).add_u32("a\nb", 2).build());
  EXPECT_TRUE(contains(e.message(), "'a\\nb'")) << e.what();
}

// ---- real files (../shared/data) -------------------------------------------------------------

std::filesystem::path data_dir() {
  return std::filesystem::path(EMBSTAT_SHARED_DATA);
}

#define REQUIRE_DATA(sub) \
  if (!std::filesystem::exists(data_dir() / sub)) GTEST_SKIP() << "shared data absent: " << (data_dir() / sub)

std::vector<float> decode_tensor(const GgufFile& f, const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elems);
  const auto bytes = f.tensor_bytes(t);
  const std::uint64_t row_bytes = *dtype_bytes(*t.dtype, static_cast<std::uint64_t>(t.row_elems()));
  for (std::int64_t r = 0; r < t.n_rows(); ++r)
    decode_row(*t.dtype, bytes.data() + static_cast<std::uint64_t>(r) * row_bytes, out.data() + r * t.row_elems(),
               t.row_elems());
  return out;
}

TEST(GgufRealData, QuantisedEmbeddingsMatchGgmlDequantisationExactly) {
  REQUIRE_DATA("gguf-quant");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"emb64x512-f16.gguf", "F16"},          {"emb64x512-bf16.gguf", "BF16"},    {"emb64x512-q8_0.gguf", "Q8_0"},
      {"emb64x512-q4_0.gguf", "Q4_0"},        {"emb64x512-q4_1.gguf", "Q4_1"},    {"emb64x512-q5_0.gguf", "Q5_0"},
      {"emb256x128-q2_K.gguf", "Q2_K"},       {"emb256x128-q4_K.gguf", "Q4_K"},   {"emb256x128-q6_K.gguf", "Q6_K"},
      {"emb256x128-iq2_xxs.gguf", "IQ2_XXS"}, {"emb256x128-iq3_s.gguf", "IQ3_S"}, {"emb256x128-iq1_s.gguf", "IQ1_S"},
      {"emb256x128-tq2_0.gguf", "TQ2_0"},
  };
  for (const auto& [name, type] : files) {
    SCOPED_TRACE(name);
    const GgufFile f = parse_gguf(MappedFile::open((data_dir() / "gguf-quant" / name).string()));
    const auto* q = f.find_tensor("token_embd.weight");
    const auto* ref = f.find_tensor("ref.dequantized_f32");
    const auto* orig = f.find_tensor("ref.original_f32");
    ASSERT_TRUE(q && ref && orig);
    EXPECT_EQ(q->type_name, type);
    ASSERT_EQ(q->ne, ref->ne);
    ASSERT_EQ(ref->dtype, DType::F32);
    const auto got = decode_tensor(f, *q);
    const auto want = decode_tensor(f, *ref);
    const auto original = decode_tensor(f, *orig);
    std::size_t n_diff = 0, n_lossy = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      n_diff += std::memcmp(&got[i], &want[i], 4) != 0;
      n_lossy += got[i] != original[i];
    }
    EXPECT_EQ(n_diff, 0u) << "of " << got.size();
    EXPECT_GT(n_lossy, 0u);  // the reference really is a lossy round trip
  }
}

// The 512 x 64 table of stories260K.bin (llama2.c: 7 int32 header, then the table), read directly.
std::vector<float> stories_bin_table() {
  std::ifstream in(data_dir() / "stories260K" / "stories260K.bin", std::ios::binary);
  in.seekg(28);
  std::vector<float> v(512 * 64);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

TEST(GgufRealData, Stories260KVariantsGiveTheSameMatrix) {
  REQUIRE_DATA("stories260K");
  const auto truth = stories_bin_table();
  struct Variant {
    std::string file;
    DType dtype;
    double tol;  // bound on max |error| / max |value| over each 32-value block
  };
  // F16 / BF16: half an ulp (2^-11, 2^-8 relative). Q8_0: half a step of amax/127 plus the f16
  // rounding of that step (x127). Q5_0 as llama.cpp's Q4_K_M mix writes it: the scale is
  // searched for least squares and may clamp the largest value by up to a step of ~amax/16.
  const std::vector<Variant> variants = {
      {"stories260K.gguf", DType::F32, 0},
      {"stories260K-F16.gguf", DType::F16, 1.0 / 2048},
      {"stories260K-BF16.gguf", DType::BF16, 1.0 / 256},
      {"stories260K-F16-tokembd-q8_0.gguf", DType::Q8_0, 1.0 / 254 + 1.0 / 2048},
      {"stories260K-Q4_K_M.gguf", DType::Q5_0, 1.0 / 12},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.file);
    const Model m = open_gguf((data_dir() / "stories260K" / v.file).string(), {});
    ASSERT_TRUE(m.tensor.has_value());
    EXPECT_EQ(m.tensor->name, "token_embd.weight");
    EXPECT_EQ(m.matrix.dtype, v.dtype);
    ASSERT_EQ(m.matrix.n_rows, 512);
    ASSERT_EQ(m.matrix.n_cols, 64);
    EXPECT_TRUE(m.has_output_matrix);  // these files store output.weight separately
    const Matrix x = decode_to_f32(m.matrix);
    double worst = 0;  // max over 32-blocks of max |error| / max |value|
    for (std::size_t b = 0; b < truth.size(); b += 32) {
      double amax = 0, err = 0;
      for (std::size_t i = b; i < b + 32; ++i) {
        amax = std::max(amax, std::fabs(double(truth[i])));
        err = std::max(err, std::fabs(double(x.data()[i]) - truth[i]));
      }
      if (amax > 0) worst = std::max(worst, err / amax);
    }
    EXPECT_LE(worst, v.tol);
    if (v.tol == 0) {
      EXPECT_EQ(worst, 0.0);
    }
    RecordProperty(v.file, std::to_string(worst));
    EXPECT_EQ(m.vocab.size(), 512u);
    EXPECT_EQ(m.vocab.kind, "sentencepiece");
    EXPECT_EQ(m.vocab.token(0).piece, "<unk>");
    EXPECT_EQ(m.vocab.token(3).bytes, std::string(1, '\0'));  // <0x00>
    EXPECT_EQ(m.vocab.token(1).type, TokenType::Control);
    EXPECT_EQ(m.padding_rows(), 0);
  }
}

TEST(GgufRealData, VocabularyOnlyFilesParseAndOpen) {
  REQUIRE_DATA("vocab-gguf");
  const std::vector<std::tuple<std::string, std::string, std::size_t>> files = {
      {"ggml-vocab-gpt-2.gguf", "gpt2", 50257},    {"ggml-vocab-llama-spm.gguf", "llama", 32000},
      {"ggml-vocab-bert-bge.gguf", "bert", 30522}, {"ggml-vocab-deepseek-llm.gguf", "gpt2", 102400},
      {"ggml-vocab-phi-3.gguf", "llama", 32064},
  };
  for (const auto& [name, model, n_tokens] : files) {
    SCOPED_TRACE(name);
    const auto path = (data_dir() / "vocab-gguf" / name).string();
    const GgufFile f = parse_gguf(MappedFile::open(path));
    EXPECT_EQ(f.version, 3u);
    EXPECT_TRUE(f.tensors.empty());
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), model);
    ASSERT_NE(f.get_string_array("tokenizer.ggml.tokens"), nullptr);
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")->size(), n_tokens);
    OpenOptions vocab_only;
    vocab_only.require_matrix = false;
    const Model m = open_gguf(path, vocab_only);
    EXPECT_EQ(m.vocab.size(), n_tokens);
    EXPECT_FALSE(m.tensor.has_value());
    auto e = expect_error([&] { open_gguf(path, {}); }, ErrorKind::Unsupported);
    EXPECT_TRUE(contains(e.message(), "vocabulary-only")) << e.what();
  }
}

}  // namespace
}  // namespace embstat
