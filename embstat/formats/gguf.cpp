#include "embstat/formats/gguf.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "embstat/base/byte_cursor.hpp"
#include "embstat/base/checked.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_names.hpp"
#include "embstat/vocab/loaders.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'G', 'G', 'U', 'F'};
constexpr std::uint32_t kMaxVersion = 3;
constexpr std::uint64_t kDefaultAlignment = 32;
// Arrays of arrays are legal GGUF but unused by llama.cpp (its reader rejects them); this many
// nested arrays in one file is refused, so a hostile header cannot make us build millions of
// empty GgufValues out of 12-byte records.
constexpr std::uint64_t kMaxNestedArrays = 1u << 20;

// Smallest encodings, used to cap counts against the bytes left before allocating.
constexpr std::uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, u8 value
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset
constexpr std::uint64_t kMinStringBytes = 8;                  // length only
constexpr std::uint64_t kMinArrayBytes = 4 + 8;               // elem type, count

// Bytes of a scalar of this type; 0 for String and Array (variable).
std::uint64_t scalar_size(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::String:
    case GgufType::Array:
      return 0;
  }
  return 0;
}

bool valid_type(std::uint32_t type) {
  return type <= static_cast<std::uint32_t>(GgufType::F64);
}

bool is_integer(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
      return true;
    default:
      return false;
  }
}

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// An integer of `type` at p, as int64; nullopt for a u64 above INT64_MAX.
std::optional<std::int64_t> load_int(GgufType type, const std::uint8_t* p) {
  switch (type) {
    case GgufType::U8:
      return load<std::uint8_t>(p);
    case GgufType::I8:
      return load<std::int8_t>(p);
    case GgufType::U16:
      return load<std::uint16_t>(p);
    case GgufType::I16:
      return load<std::int16_t>(p);
    case GgufType::U32:
      return load<std::uint32_t>(p);
    case GgufType::I32:
      return load<std::int32_t>(p);
    case GgufType::I64:
      return load<std::int64_t>(p);
    case GgufType::U64: {
      const auto v = load<std::uint64_t>(p);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
      return static_cast<std::int64_t>(v);
    }
    default:
      return std::nullopt;
  }
}

// A name or key from the file, made safe and short for an error message.
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 80;
  if (s.size() <= kMax) return fmt::format("'{}'", escape_display(s));
  return fmt::format("'{}' (+{} bytes)", escape_display(s.substr(0, kMax)), s.size() - kMax);
}

class Parser {
 public:
  Parser(std::span<const std::uint8_t> bytes, std::string path)
      : bytes_(bytes), path_(std::move(path)), cur_(bytes, path_) {}

  GgufFile parse() {
    GgufFile out;
    out.path = path_;
    out.bytes = bytes_;
    read_header(out);
    read_kv(out);
    read_alignment(out);
    read_tensor_infos(out);
    place_tensors(out);
    return out;
  }

 private:
  [[noreturn]] void fail_at(std::uint64_t offset, const std::string& message) const {
    throw_format(path_, offset, message);
  }

  void read_header(GgufFile& out) {
    const auto magic = cur_.bytes(4, "magic");
    if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) {
      std::string seen;
      for (auto c : magic) seen += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
      fail_at(0, fmt::format("not a GGUF file (magic '{}', expected 'GGUF')", seen));
    }
    out.version = cur_.u32();
    if (out.version == 0) fail_at(4, "bad GGUF version 0");
    if ((out.version & 0xffffu) == 0)
      throw Error(
          ErrorKind::Unsupported, path_,
          fmt::format("GGUF version 0x{:08x}: a big-endian file? only little-endian GGUF is supported", out.version),
          4);
    if (out.version == 1)
      throw Error(ErrorKind::Unsupported, path_,
                  "GGUF version 1 is obsolete and not supported (versions 2 and 3 are); re-convert the model "
                  "with a current llama.cpp",
                  4);
    if (out.version > kMaxVersion)
      throw Error(ErrorKind::Unsupported, path_,
                  fmt::format("GGUF version {} is newer than this reader (it reads versions 2 and 3)", out.version), 4);

    n_tensors_ = cur_.u64();
    n_kv_ = cur_.u64();
    // Each record takes some minimum number of bytes: refuse counts the file cannot hold before
    // reserving anything for them.
    const auto min_kv = checked_mul(n_kv_, kMinKvBytes);
    const auto min_tensors = checked_mul(n_tensors_, kMinTensorInfoBytes);
    const auto min_total = (min_kv && min_tensors) ? checked_add(*min_kv, *min_tensors) : std::nullopt;
    if (!min_total || *min_total > cur_.remaining())
      fail_at(8, fmt::format("header claims {} tensors and {} metadata keys, more than the {} bytes left can hold",
                             n_tensors_, n_kv_, cur_.remaining()));
  }

  // u64 length + bytes, the length checked against the cap and the bytes left.
  std::string_view read_string(const char* what) {
    const std::uint64_t at = cur_.offset();
    const std::uint64_t n = cur_.u64();
    if (n > kGgufMaxStringBytes)
      fail_at(at, fmt::format("{}: string length {} exceeds the {} byte limit", what, n, kGgufMaxStringBytes));
    if (n > cur_.remaining())
      fail_at(at, fmt::format("{}: string length {} runs past the end of the file ({} bytes left)", what, n,
                              cur_.remaining()));
    return cur_.string(n, what);
  }

  GgufType read_type(const char* what) {
    const std::uint64_t at = cur_.offset();
    const std::uint32_t t = cur_.u32();
    if (!valid_type(t)) fail_at(at, fmt::format("{}: invalid GGUF value type {}", what, t));
    return static_cast<GgufType>(t);
  }

  GgufValue read_value(GgufType type, std::uint32_t depth) {
    GgufValue v;
    v.type = type;
    if (type == GgufType::String) {
      v.string = read_string("string value");
    } else if (type == GgufType::Array) {
      read_array(v, depth);
    } else {
      v.raw = cur_.bytes(scalar_size(type), "value");
    }
    return v;
  }

  void read_array(GgufValue& v, std::uint32_t depth) {
    const std::uint64_t at = cur_.offset();
    if (depth >= kGgufMaxArrayDepth) fail_at(at, fmt::format("arrays nested more than {} deep", kGgufMaxArrayDepth));
    v.elem_type = read_type("array element type");
    const std::uint64_t count_at = cur_.offset();
    v.n_elems = cur_.u64();
    if (v.n_elems > kGgufMaxArrayElems)
      fail_at(count_at,
              fmt::format("array of {} elements exceeds the {} element limit", v.n_elems, kGgufMaxArrayElems));
    const std::uint64_t elem_size = scalar_size(v.elem_type);
    const std::uint64_t min_size = v.elem_type == GgufType::String  ? kMinStringBytes
                                   : v.elem_type == GgufType::Array ? kMinArrayBytes
                                                                    : elem_size;
    if (v.n_elems > cur_.remaining() / min_size)
      fail_at(count_at, fmt::format("array of {} {} values needs at least {} bytes each, only {} bytes left", v.n_elems,
                                    gguf_type_name(v.elem_type), min_size, cur_.remaining()));
    if (v.elem_type == GgufType::String) {
      v.strings.reserve(v.n_elems);
      for (std::uint64_t i = 0; i < v.n_elems; ++i) v.strings.push_back(read_string("array string"));
    } else if (v.elem_type == GgufType::Array) {
      n_nested_ += v.n_elems;
      if (n_nested_ > kMaxNestedArrays)
        fail_at(count_at, fmt::format("more than {} nested arrays in the metadata", kMaxNestedArrays));
      v.items.resize(v.n_elems);
      for (auto& item : v.items) {
        item.type = GgufType::Array;
        read_array(item, depth + 1);
      }
    } else {
      v.raw = cur_.bytes(v.n_elems * elem_size, "array data");  // n_elems * elem_size <= remaining
    }
  }

  void read_kv(GgufFile& out) {
    out.kv.reserve(n_kv_);
    // A key seen before: where its record and its value bytes (type id to end) are.
    struct Seen {
      std::uint64_t record_offset;
      std::span<const std::uint8_t> value_bytes;
    };
    std::unordered_map<std::string_view, Seen> seen;
    for (std::uint64_t i = 0; i < n_kv_; ++i) {
      GgufKeyValue kv;
      kv.file_offset = cur_.offset();
      kv.key = read_string("metadata key");
      if (kv.key.empty()) fail_at(kv.file_offset, fmt::format("metadata key {} is empty", i));
      const std::uint64_t value_at = cur_.offset();
      try {
        kv.value = read_value(read_type("value type"), 0);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("metadata {}", shown(kv.key)));
      }
      const auto value_bytes = bytes_.subspan(value_at, cur_.offset() - value_at);
      const auto [it, first] = seen.try_emplace(kv.key, Seen{kv.file_offset, value_bytes});
      if (!first) {
        // ggml refuses any repeat; gguf-py keeps reading. A repeat with the same type and bytes
        // is harmless (llama.cpp's own ggml-vocab-dbrx.gguf has one): warn and keep the first.
        const Seen& prev = it->second;
        if (!std::equal(prev.value_bytes.begin(), prev.value_bytes.end(), value_bytes.begin(), value_bytes.end()))
          fail_at(kv.file_offset, fmt::format("duplicate metadata key {} with different values (at offsets {} and {})",
                                              shown(kv.key), prev.record_offset, kv.file_offset));
        out.warnings.push_back(fmt::format("metadata key {} appears twice with the same value (at offsets {} and {})",
                                           shown(kv.key), prev.record_offset, kv.file_offset));
        continue;
      }
      out.kv.push_back(std::move(kv));
    }
  }

  void read_alignment(GgufFile& out) {
    out.alignment = kDefaultAlignment;
    const auto* kv = out.find("general.alignment");
    if (!kv) return;
    if (kv->value.type != GgufType::U32)
      fail_at(kv->file_offset, fmt::format("general.alignment must be a u32, not {}", gguf_type_name(kv->value.type)));
    const std::uint32_t a = load<std::uint32_t>(kv->value.raw.data());
    if (a == 0 || (a & (a - 1)) != 0)
      fail_at(kv->file_offset, fmt::format("general.alignment {} is not a power of two", a));
    out.alignment = a;
  }

  void read_tensor_infos(GgufFile& out) {
    out.tensors.reserve(n_tensors_);
    std::unordered_set<std::string_view> seen;
    for (std::uint64_t i = 0; i < n_tensors_; ++i) {
      GgufTensorInfo t;
      t.info_offset = cur_.offset();
      const std::string_view name = read_string("tensor name");
      if (name.size() > kGgufMaxTensorName)
        fail_at(t.info_offset, fmt::format("tensor {}: name of {} bytes is longer than ggml's {} byte limit",
                                           shown(name), name.size(), kGgufMaxTensorName));
      if (!seen.insert(name).second) fail_at(t.info_offset, fmt::format("duplicate tensor name {}", shown(name)));
      t.name = std::string(name);
      const std::string where = fmt::format("tensor {}", shown(name));

      const std::uint64_t dims_at = cur_.offset();
      const std::uint32_t n_dims = cur_.u32();
      if (n_dims > kGgufMaxDims)
        fail_at(dims_at, fmt::format("{}: {} dimensions, at most {} allowed", where, n_dims, kGgufMaxDims));
      std::uint64_t n_elems = 1;
      for (std::uint32_t d = 0; d < n_dims; ++d) {
        const std::uint64_t at = cur_.offset();
        const std::uint64_t ne = cur_.u64();
        if (ne == 0 || ne > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          fail_at(at, fmt::format("{}: dimension {} is {}, must be between 1 and 2^63-1", where, d,
                                  static_cast<std::int64_t>(ne)));
        const auto product = checked_mul(n_elems, ne);
        if (!product || *product > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          fail_at(at, fmt::format("{}: element count overflows at dimension {} ({})", where, d, ne));
        n_elems = *product;
        t.ne.push_back(static_cast<std::int64_t>(ne));
      }
      t.n_elems = n_elems;

      const std::uint64_t type_at = cur_.offset();
      t.ggml_type = cur_.u32();
      // Every type ggml defines is sized, decodable or not: a file whose attention weights are of
      // a type embstat cannot decode must still open for its token_embd.
      const DTypeInfo* type = ggml_type_info(t.ggml_type);
      if (!type)
        throw Error(ErrorKind::Unsupported, path_, fmt::format("{}: unknown ggml type id {}", where, t.ggml_type),
                    type_at);
      t.type_name = std::string(type->name);
      if (type->decodable) t.dtype = type->dtype;
      if (static_cast<std::uint64_t>(t.row_elems()) % type->block_elems != 0)
        fail_at(type_at, fmt::format("{}: row length {} is not a multiple of the {} block size {}", where,
                                     t.row_elems(), t.type_name, type->block_elems));
      const auto n_bytes = checked_mul(t.n_elems / type->block_elems, type->block_bytes);
      if (!n_bytes) fail_at(type_at, fmt::format("{}: size in bytes overflows", where));
      t.n_bytes = *n_bytes;
      t.offset = cur_.u64();
      out.tensors.push_back(std::move(t));
    }
  }

  void place_tensors(GgufFile& out) {
    const std::uint64_t header_end = cur_.offset();
    const std::uint64_t size = bytes_.size();
    // header_end <= size, alignment <= 2^31: the padded offset cannot wrap.
    out.data_offset = (header_end + out.alignment - 1) / out.alignment * out.alignment;
    if (out.tensors.empty()) return;
    if (out.data_offset > size)
      fail_at(header_end, fmt::format("data section would start at {}, past the end of the file ({} bytes)",
                                      out.data_offset, size));
    for (auto& t : out.tensors) {
      const std::string where = fmt::format("tensor {}", shown(t.name));
      if (t.offset % out.alignment != 0)
        fail_at(t.info_offset, fmt::format("{}: data offset {} is not a multiple of the alignment {}", where, t.offset,
                                           out.alignment));
      const auto file_offset = checked_add(out.data_offset, t.offset);
      if (!file_offset || !range_fits(*file_offset, t.n_bytes, size))
        fail_at(t.info_offset, fmt::format("{}: {} bytes at data offset {} run past the end of the file ({} bytes)",
                                           where, t.n_bytes, t.offset, size));
      t.file_offset = *file_offset;
    }
    // No two tensors may share bytes (ggml additionally wants them packed in order; gaps and
    // other orders are harmless to a reader that bounds each tensor, so they are accepted).
    std::vector<std::size_t> order(out.tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return out.tensors[a].file_offset < out.tensors[b].file_offset; });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const auto& prev = out.tensors[order[k - 1]];
      const auto& cur = out.tensors[order[k]];
      if (cur.file_offset - prev.file_offset < prev.n_bytes)  // both in range: no wrap
        fail_at(cur.info_offset, fmt::format("tensors {} and {} overlap (data offsets {} + {} bytes and {})",
                                             shown(prev.name), shown(cur.name), prev.offset, prev.n_bytes, cur.offset));
    }
  }

  std::span<const std::uint8_t> bytes_;
  std::string path_;
  ByteCursor cur_;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_kv_ = 0;
  std::uint64_t n_nested_ = 0;
};

[[noreturn]] void wrong_type(const GgufFile& file, const GgufKeyValue& kv, const char* expected) {
  std::string actual(gguf_type_name(kv.value.type));
  if (kv.value.is_array()) actual += fmt::format(" of {}", gguf_type_name(kv.value.elem_type));
  throw_format(file.path, kv.file_offset,
               fmt::format("metadata {} is {}, expected {}", shown(kv.key), actual, expected));
}

}  // namespace

Vocabulary gguf_vocabulary(const GgufFile& gguf) {
  const auto* tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) return Vocabulary{};
  if (tokens->size() > static_cast<std::uint64_t>(kMaxVocabularySize))
    throw_format(gguf.path, gguf.find("tokenizer.ggml.tokens")->file_offset,
                 fmt::format("tokenizer.ggml.tokens has {} entries, more than the limit of {}", tokens->size(),
                             kMaxVocabularySize));
  std::vector<std::int32_t> types;
  if (const auto raw = gguf.get_int_array("tokenizer.ggml.token_type")) {
    const auto* kv = gguf.find("tokenizer.ggml.token_type");
    if (raw->size() != tokens->size())
      throw_format(gguf.path, kv->file_offset,
                   fmt::format("tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}", raw->size(),
                               tokens->size()));
    types.reserve(raw->size());
    for (const auto t : *raw) {
      if (t < std::numeric_limits<std::int32_t>::min() || t > std::numeric_limits<std::int32_t>::max())
        throw_format(gguf.path, kv->file_offset, fmt::format("tokenizer.ggml.token_type value {} out of range", t));
      types.push_back(static_cast<std::int32_t>(t));
    }
  }
  const auto model = gguf.get_string("tokenizer.ggml.model").value_or("");
  return vocabulary_from_pieces(std::span<const std::string_view>(*tokens), types, model, gguf.path);
}

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8:
      return "u8";
    case GgufType::I8:
      return "i8";
    case GgufType::U16:
      return "u16";
    case GgufType::I16:
      return "i16";
    case GgufType::U32:
      return "u32";
    case GgufType::I32:
      return "i32";
    case GgufType::F32:
      return "f32";
    case GgufType::Bool:
      return "bool";
    case GgufType::String:
      return "str";
    case GgufType::Array:
      return "arr";
    case GgufType::U64:
      return "u64";
    case GgufType::I64:
      return "i64";
    case GgufType::F64:
      return "f64";
  }
  return "?";
}

std::optional<std::int64_t> GgufValue::as_int() const {
  if (!is_integer(type)) return std::nullopt;
  return load_int(type, raw.data());
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::F32) return load<float>(raw.data());
  if (type == GgufType::F64) return load<double>(raw.data());
  return std::nullopt;
}

std::optional<std::int64_t> GgufValue::int_at(std::uint64_t i) const {
  if (!is_array() || !is_integer(elem_type) || i >= n_elems) return std::nullopt;
  return load_int(elem_type, raw.data() + i * scalar_size(elem_type));
}

const GgufKeyValue* GgufFile::find(std::string_view key) const {
  for (const auto& e : kv)
    if (e.key == key) return &e;
  return nullptr;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (e->value.type != GgufType::String) wrong_type(*this, *e, "a string");
  return e->value.string;
}

std::optional<std::int64_t> GgufFile::get_int(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (!is_integer(e->value.type)) wrong_type(*this, *e, "an integer");
  const auto v = e->value.as_int();
  if (!v) throw_format(path, e->file_offset, fmt::format("metadata {} does not fit in an int64", shown(e->key)));
  return v;
}

std::optional<std::uint32_t> GgufFile::get_u32(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (e->value.type != GgufType::U32) wrong_type(*this, *e, "a u32");
  return load<std::uint32_t>(e->value.raw.data());
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  const auto v = e->value.as_float();
  if (!v) wrong_type(*this, *e, "a float");
  return v;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (e->value.type != GgufType::Bool) wrong_type(*this, *e, "a bool");
  return e->value.raw[0] != 0;
}

const std::vector<std::string_view>* GgufFile::get_string_array(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return nullptr;
  if (!e->value.is_array() || e->value.elem_type != GgufType::String) wrong_type(*this, *e, "an array of strings");
  return &e->value.strings;
}

std::optional<std::vector<std::int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (!e->value.is_array() || !is_integer(e->value.elem_type)) wrong_type(*this, *e, "an array of integers");
  std::vector<std::int64_t> out;
  out.reserve(e->value.n_elems);
  for (std::uint64_t i = 0; i < e->value.n_elems; ++i) {
    const auto v = e->value.int_at(i);
    if (!v)
      throw_format(path, e->file_offset, fmt::format("metadata {}[{}] does not fit in an int64", shown(e->key), i));
    out.push_back(*v);
  }
  return out;
}

GgufFile parse_gguf(std::span<const std::uint8_t> bytes, std::string path) {
  return Parser(bytes, std::move(path)).parse();
}

GgufFile parse_gguf(std::shared_ptr<const MappedFile> file) {
  GgufFile out = parse_gguf(file->bytes(), file->path());
  out.owner = std::move(file);
  return out;
}

Model open_gguf(const std::string& path, const OpenOptions& options) {
  auto file = MappedFile::open(path);
  const GgufFile gguf = parse_gguf(file);

  Model model;
  model.spec = path;
  model.name = std::filesystem::path(path).filename().string();
  model.format = "gguf";
  model.files = {path};
  if (const auto arch = gguf.get_string("general.architecture")) {
    model.config.architecture = std::string(*arch);
    const std::string prefix(*arch);
    model.config.hidden_size = gguf.get_int(prefix + ".embedding_length");
    model.config.vocab_size = gguf.get_int(prefix + ".vocab_size");
  }
  model.vocab = gguf_vocabulary(gguf);
  model.notes = gguf.warnings;

  if (gguf.tensors.empty()) {
    constexpr std::uint64_t kTensorCountOffset = 8;  // after the magic and the version
    if (options.require_matrix)
      throw Error(ErrorKind::Unsupported, path, "has no tensors (vocabulary-only file)", kTensorCountOffset);
    model.notes.push_back("vocabulary-only file: no tensors");
    return model;
  }

  // GGUF lists ne innermost first; the pick rules want rows first ({n_vocab, n_embd}).
  std::vector<TensorCandidate> candidates;
  candidates.reserve(gguf.tensors.size());
  for (const auto& t : gguf.tensors) candidates.push_back({t.name, {t.ne.rbegin(), t.ne.rend()}});
  TensorPick pick = pick_embedding_tensor(candidates, options, model.config, path);
  model.tied = pick.tied;
  model.has_output_matrix = pick.has_output_matrix;
  model.notes.insert(model.notes.end(), pick.notes.begin(), pick.notes.end());
  if (!pick.name) return model;  // only when !options.require_matrix

  const GgufTensorInfo& t = *gguf.find_tensor(*pick.name);
  const DTypeInfo& type = *ggml_type_info(t.ggml_type);  // every parsed tensor has a known type
  TensorInfo info;
  info.name = t.name;
  info.dtype = type.dtype;
  info.shape = t.ne;
  info.file = path;
  info.file_offset = t.file_offset;
  info.n_bytes = t.n_bytes;
  model.tensor = std::move(info);

  MatrixView& m = model.matrix;
  m.dtype = type.dtype;
  m.n_cols = t.row_elems();
  m.n_rows = t.n_rows();
  m.row_bytes = *dtype_bytes(type.dtype, static_cast<std::uint64_t>(m.n_cols));  // checked at parse
  if (!type.decodable) {
    // Named with its shape and type, but without rows: nothing can decode them.
    std::string message = fmt::format("tensor {}: ggml type {} cannot be decoded (embstat decodes {})", shown(t.name),
                                      t.type_name, decodable_ggml_type_names());
    if (options.require_matrix) throw Error(ErrorKind::Unsupported, path, message, t.info_offset);
    model.notes.push_back(std::move(message));
    return model;
  }
  m.data = file->data() + t.file_offset;
  m.owner = file;
  m.mapping = file.get();

  if (!model.vocab.empty() && static_cast<std::int64_t>(model.vocab.size()) > m.n_rows)
    model.notes.push_back(
        fmt::format("the tokenizer has {} tokens but '{}' has only {} rows", model.vocab.size(), t.name, m.n_rows));
  return model;
}

}  // namespace embstat
