// GGUF (llama.cpp / ggml model files), versions 2 and 3.
//
// Byte layout (all little-endian; str = u64 length + that many bytes, no terminator):
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x      { str key | u32 value_type | value }
//                 value: u8 i8 u16 i16 u32 i32 f32 bool(u8) str u64 i64 f64 (types 0-8, 10-12)
//                        or array (9): u32 elem_type | u64 count | count values (nested allowed)
//   n_tensors x { str name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment (u32 key, default 32)
//   data section: each tensor at data_offset + offset (offset a multiple of the alignment).
// ne[0] is the row length (contiguous elements), ne[1] the number of rows: a token embedding
// [n_vocab x n_embd] is stored with ne = {n_embd, n_vocab}.
//
// parse_gguf() reads only the header; it checks every count, length, shape and offset against
// the bytes present before using it (doc/formats/gguf.md lists the checks). Strings and array
// payloads are not copied: a GgufFile holds views into the bytes it was parsed from and keeps
// the mapping alive through `owner` (or, for the span overload, relies on the caller).
// A parsed GgufFile is immutable and may be read from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/model.hpp"

namespace embstat {

// GGUF metadata value types (gguf.h enum gguf_type).
enum class GgufType : std::uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string_view gguf_type_name(GgufType type);  // "u32", "str", "arr", ...

// One metadata value. Scalars and arrays of numbers keep their little-endian bytes in `raw`
// (a view into the file); strings are views too. Arrays of strings and of arrays are split
// into `strings` / `items` at parse time.
struct GgufValue {
  GgufType type = GgufType::U8;
  std::span<const std::uint8_t> raw;  // scalar number or bool: its bytes; numeric array: all elements
  std::string_view string;            // type String

  // type Array:
  GgufType elem_type = GgufType::U8;
  std::uint64_t n_elems = 0;
  std::vector<std::string_view> strings;  // elem_type String: n_elems entries
  std::vector<GgufValue> items;           // elem_type Array: n_elems nested arrays

  bool is_array() const { return type == GgufType::Array; }
  // Integer scalar of any width/sign as int64 (nullopt for other types, or u64 > INT64_MAX).
  std::optional<std::int64_t> as_int() const;
  // f32 or f64 scalar (nullopt for other types).
  std::optional<double> as_float() const;
  // Element i of an array of integers (any width/sign) as int64; nullopt when not such an
  // array, out of range, or a u64 > INT64_MAX.
  std::optional<std::int64_t> int_at(std::uint64_t i) const;
};

struct GgufKeyValue {
  std::string_view key;
  GgufValue value;
  std::uint64_t file_offset = 0;  // where the key's record starts
};

struct GgufTensorInfo {
  std::string name;
  std::uint32_t ggml_type = 0;
  std::string type_name;         // "Q4_K", "IQ2_XXS", ...
  std::optional<DType> dtype;    // nullopt: a ggml type embstat cannot decode (IQ*, TQ*, ...)
  std::vector<std::int64_t> ne;  // n_dims entries, each > 0; ne[0] = row length
  std::uint64_t n_elems = 0;
  std::uint64_t n_bytes = 0;
  std::uint64_t offset = 0;       // relative to the data section (as stored)
  std::uint64_t file_offset = 0;  // absolute: data_offset + offset
  std::uint64_t info_offset = 0;  // where its tensor-info record starts (for messages)

  std::int64_t row_elems() const { return ne.empty() ? 1 : ne[0]; }
  // Product of ne[1..]: rows of ne[0] elements.
  std::int64_t n_rows() const { return row_elems() == 0 ? 0 : static_cast<std::int64_t>(n_elems) / row_elems(); }
};

struct GgufFile {
  std::string path;
  std::uint32_t version = 0;
  std::uint64_t alignment = 32;
  std::uint64_t data_offset = 0;        // start of the data section (header end, padded)
  std::span<const std::uint8_t> bytes;  // the whole file
  std::shared_ptr<const void> owner;    // keeps `bytes` alive (the MappedFile); may be null
  std::vector<GgufKeyValue> kv;         // in file order, keys unique (a repeat is dropped)
  std::vector<std::string> warnings;    // harmless oddities: a key repeated with the same value
  std::vector<GgufTensorInfo> tensors;  // in file order, names unique

  const GgufKeyValue* find(std::string_view key) const;
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // Typed getters: nullopt when the key is absent; Error(Format) naming the key when it is
  // present with another type.
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<std::int64_t> get_int(std::string_view key) const;   // any integer type
  std::optional<std::uint32_t> get_u32(std::string_view key) const;  // exactly u32
  std::optional<double> get_float(std::string_view key) const;       // f32 or f64
  std::optional<bool> get_bool(std::string_view key) const;
  // Arrays: of strings (views into the file), of integers of any type.
  const std::vector<std::string_view>* get_string_array(std::string_view key) const;
  std::optional<std::vector<std::int64_t>> get_int_array(std::string_view key) const;

  // A tensor's bytes (checked in range at parse time).
  std::span<const std::uint8_t> tensor_bytes(const GgufTensorInfo& tensor) const {
    return bytes.subspan(tensor.file_offset, tensor.n_bytes);
  }
};

// Limits beyond which a header is refused rather than allocated.
inline constexpr std::uint64_t kGgufMaxStringBytes = 1ull << 30;  // ggml GGUF_MAX_STRING_LENGTH
inline constexpr std::uint64_t kGgufMaxArrayElems = 1ull << 30;   // ggml GGUF_MAX_ARRAY_ELEMENTS
inline constexpr std::uint32_t kGgufMaxArrayDepth = 8;            // arrays of arrays of ...
inline constexpr std::size_t kGgufMaxTensorName = 63;             // ggml GGML_MAX_NAME - 1
inline constexpr std::uint32_t kGgufMaxDims = 4;                  // ggml GGML_MAX_DIMS

// Parses the header of a mapped file. Throws Error(Format) for malformed bytes (with the file
// offset), Error(Unsupported) for GGUF v1 / versions above 3 and unknown ggml type ids. A
// metadata key repeated with identical type and value is kept once, with a warning; repeated
// with another value it is refused, naming the key and both record offsets.
GgufFile parse_gguf(std::shared_ptr<const MappedFile> file);
// The same over bytes the caller keeps alive (tests, fuzzing): they must outlive the returned
// GgufFile, whose keys, strings and tensor_bytes() view them. `path` names them in errors.
GgufFile parse_gguf(std::span<const std::uint8_t> bytes, std::string path);

// The vocabulary in tokenizer.ggml.tokens (+ token_type, model) via vocabulary_from_pieces();
// an empty Vocabulary when the file has no tokens. Throws Error(Format) when token_type's length
// differs from the tokens'.
Vocabulary gguf_vocabulary(const GgufFile& file);

// Opens a .gguf as a Model: matrix = token_embd.weight (or options.tensor; --matrix output ->
// output.weight, or token_embd with a "tied" note when the file has none), vocabulary from
// tokenizer.ggml.{tokens,token_type,model}. A vocabulary-only file (no tensors) opens when
// !options.require_matrix; otherwise it is an error.
Model open_gguf(const std::string& path, const OpenOptions& options);

}  // namespace embstat
