#include "embstat/formats/safetensors.hpp"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include "embstat/base/byte_cursor.hpp"
#include "embstat/base/checked.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/support.hpp"
#include "embstat/formats/tensor_names.hpp"

namespace embstat {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxConfigBytes = 16ull << 20;  // config.json: a few KB in practice
constexpr std::uint64_t kMaxIndexBytes = 256ull << 20;  // index.json: a few MB for the largest models
constexpr std::uint64_t kHeaderOffset = 8;              // the JSON header starts after the u64 length

// Every dtype safetensors knows (safetensors/src/tensor.rs Dtype::bitsize), decodable or not.
struct SafetensorsDType {
  std::string_view name;
  std::uint32_t bits;
};
constexpr std::array<SafetensorsDType, 20> kDTypes = {{
    {"BOOL", 8},    {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},   {"I8", 8},    {"F8_E5M2", 8},
    {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16}, {"BF16", 16}, {"I32", 32},
    {"U32", 32},    {"F32", 32},    {"C64", 64},    {"F64", 64},    {"I64", 64}, {"U64", 64},
}};

std::optional<std::uint32_t> dtype_bits(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return d.bits;
  return std::nullopt;
}

// A tensor name fit for one line of an error message (escaped, cut to 200 bytes).
std::string printable(std::string_view s) {
  if (s.size() <= 200) return escape_display(s);
  return escape_display(s.substr(0, 200)) + "...";
}

// A JSON value for an error message: scalars as written (cut to 40 characters), arrays and
// objects by their type name only. nlohmann's dump() recurses once per nesting level, so
// dumping a hostile 100,000-deep array overflows the stack (fuzz/corpus/*/crash_deep_*).
std::string brief(const json& v) {
  if (v.is_structured()) return fmt::format("a JSON {}", v.type_name());
  return v.dump().substr(0, 40);
}

std::uint64_t require_unsigned(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned())
    throw_format(path, kHeaderOffset, fmt::format("{} must be a non-negative integer, not {}", what, brief(v)));
  return v.get<std::uint64_t>();
}

SafetensorsTensor parse_tensor_entry(const std::string& name, const json& entry, const std::string& path) {
  const std::string where = "tensor '" + printable(name) + "'";
  if (!entry.is_object()) throw_format(path, kHeaderOffset, where + ": entry is not a JSON object");
  SafetensorsTensor t;
  t.name = name;

  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    throw_format(path, kHeaderOffset, where + ": missing string \"dtype\"");
  t.dtype_name = dtype->get<std::string>();
  if (!dtype_bits(t.dtype_name))
    throw_format(path, kHeaderOffset, where + ": unknown dtype '" + printable(t.dtype_name) + "'");
  t.dtype = dtype_from_safetensors_name(t.dtype_name);

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array())
    throw_format(path, kHeaderOffset, where + ": missing array \"shape\"");
  for (const auto& d : *shape) {
    const std::uint64_t v = require_unsigned(d, path, where + ": each shape entry");
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw_format(path, kHeaderOffset, fmt::format("{}: shape entry {} is too large", where, v));
    t.shape.push_back(static_cast<std::int64_t>(v));
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
    throw_format(path, kHeaderOffset, where + ": \"data_offsets\" must be [begin, end]");
  t.begin = require_unsigned((*offsets)[0], path, where + ": data_offsets begin");
  t.end = require_unsigned((*offsets)[1], path, where + ": data_offsets end");
  return t;
}

// end - begin must equal elements x dtype bits / 8, computed without overflow.
void check_tensor_size(const SafetensorsTensor& t, const std::string& path) {
  const std::string where = "tensor '" + printable(t.name) + "'";
  std::optional<std::uint64_t> n_elems = 1;
  for (auto d : t.shape) n_elems = n_elems ? checked_mul(*n_elems, static_cast<std::uint64_t>(d)) : std::nullopt;
  const auto n_bits = n_elems ? checked_mul(*n_elems, *dtype_bits(t.dtype_name)) : std::nullopt;
  if (!n_bits) throw_format(path, kHeaderOffset, fmt::format("{}: shape {} overflows", where, shape_string(t.shape)));
  if (*n_bits % 8 != 0)
    throw_format(
        path, kHeaderOffset,
        fmt::format("{}: shape {} of {} is not a whole number of bytes", where, shape_string(t.shape), t.dtype_name));
  if (t.end - t.begin != *n_bits / 8)
    throw_format(path, kHeaderOffset,
                 fmt::format("{}: data_offsets [{}, {}] hold {} bytes, but shape {} of {} needs {}", where, t.begin,
                             t.end, t.end - t.begin, shape_string(t.shape), t.dtype_name, *n_bits / 8));
}

std::vector<std::string> list_files_with_suffix(const std::string& folder, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return out;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        is_regular_file(path_join(folder, name)))
      out.push_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

// One opened safetensors file: its mapping and parsed header.
struct OpenedFile {
  std::string path;
  std::shared_ptr<const MappedFile> file;
  SafetensorsHeader header;
};

OpenedFile open_file(const std::string& path) {
  OpenedFile f;
  f.path = path;
  f.file = MappedFile::open(path);
  f.header = parse_safetensors_header(f.file->bytes(), path);
  return f;
}

void read_config_beside(Model& model, const std::string& folder) {
  const std::string config = path_join(folder, "config.json");
  if (!is_regular_file(config)) return;
  model.files.push_back(config);
  model.config = read_model_config(config);
}

// Points model.matrix at `tensor` inside `opened` and applies the pick's verdicts.
void set_matrix(Model& model, const OpenedFile& opened, const SafetensorsTensor& t, const TensorPick& pick,
                const OpenOptions& options) {
  const std::string where = "tensor '" + printable(t.name) + "'";
  if (!t.dtype)
    throw Error(ErrorKind::Unsupported, opened.path,
                fmt::format("{}: dtype {} cannot be converted to f32 by embstat", where, t.dtype_name), kHeaderOffset);
  if (t.shape.empty() || t.shape.size() > 2)
    throw Error(ErrorKind::Unsupported, opened.path,
                fmt::format("{}: shape {} is not a matrix of rows", where, shape_string(t.shape)), kHeaderOffset);
  const std::int64_t n_rows = t.shape.size() == 2 ? t.shape[0] : 1;
  const std::int64_t n_cols = t.shape.back();
  if (n_rows == 0 || n_cols == 0)
    throw Error(ErrorKind::Unsupported, opened.path, fmt::format("{}: empty tensor {}", where, shape_string(t.shape)),
                kHeaderOffset);

  const std::uint64_t file_offset = opened.header.data_offset + t.begin;  // in range: checked by the parser
  TensorInfo info;
  info.name = t.name;
  info.dtype = *t.dtype;
  info.shape = t.shape;
  info.file = opened.path;
  info.file_offset = file_offset;
  info.n_bytes = t.end - t.begin;
  model.tensor = info;

  model.matrix = MatrixView{};
  model.matrix.dtype = *t.dtype;
  model.matrix.n_rows = n_rows;
  model.matrix.n_cols = n_cols;
  model.matrix.data = opened.file->data() + file_offset;
  model.matrix.row_bytes = *dtype_bytes(*t.dtype, static_cast<std::uint64_t>(n_cols));
  model.matrix.owner = opened.file;
  model.matrix.mapping = opened.file.get();
  opened.file->will_need(file_offset, info.n_bytes);

  model.tied = pick.tied;
  model.has_output_matrix = pick.has_output_matrix;
  model.notes.insert(model.notes.end(), pick.notes.begin(), pick.notes.end());
  if (options.tensor.empty()) {
    auto notes = shape_notes(t.name, t.shape, model.config);
    model.notes.insert(model.notes.end(), notes.begin(), notes.end());
  }
}

std::vector<TensorCandidate> candidates_of(const std::vector<const OpenedFile*>& files) {
  std::vector<TensorCandidate> out;
  for (const auto* f : files)
    for (const auto& t : f->header.tensors) out.push_back({t.name, t.shape});
  return out;
}

Model open_files(const std::string& folder, const std::vector<std::string>& paths, const OpenOptions& options,
                 std::string display_name) {
  Model model;
  model.format = "safetensors";
  model.name = std::move(display_name);
  read_config_beside(model, folder);
  std::vector<OpenedFile> opened;
  opened.reserve(paths.size());
  for (const auto& p : paths) {
    model.files.push_back(p);
    opened.push_back(open_file(p));
  }
  // Tensor names must be unique across the files.
  std::map<std::string_view, const OpenedFile*> owner;
  std::vector<const OpenedFile*> ptrs;
  for (const auto& f : opened) {
    ptrs.push_back(&f);
    for (const auto& t : f.header.tensors)
      if (auto [it, fresh] = owner.emplace(t.name, &f); !fresh)
        throw Error(ErrorKind::Format, f.path,
                    fmt::format("tensor '{}' is also in {}", printable(t.name), it->second->path), kHeaderOffset);
  }
  const auto candidates = candidates_of(ptrs);
  const auto pick = pick_embedding_tensor(candidates, options, model.config, paths.size() == 1 ? paths[0] : folder);
  if (pick.name) {
    const OpenedFile* f = owner.at(*pick.name);
    set_matrix(model, *f, *f->header.find(*pick.name), pick, options);
  } else {
    model.notes.insert(model.notes.end(), pick.notes.begin(), pick.notes.end());
  }
  attach_tokenizer_json(model, folder);
  return model;
}

Model open_sharded(const std::string& folder, const std::string& index_path, const OpenOptions& options) {
  Model model;
  model.format = "safetensors";
  model.name = path_file_name(folder);
  model.files.push_back(index_path);
  const auto weight_map = parse_safetensors_index(read_text_file(index_path, kMaxIndexBytes), index_path);
  read_config_beside(model, folder);

  std::vector<TensorCandidate> candidates;
  candidates.reserve(weight_map.size());
  std::set<std::string> shards;
  for (const auto& [name, shard] : weight_map) {
    candidates.push_back({name, {}});
    shards.insert(shard);
  }
  const auto pick = pick_embedding_tensor(candidates, options, model.config, index_path);

  // Shards may be absent (a partial download): only the one we need matters.
  std::size_t n_missing = 0;
  for (const auto& s : shards)
    if (!is_regular_file(path_join(folder, s))) ++n_missing;
  if (n_missing > 0)
    model.notes.push_back(
        fmt::format("{} of {} shards listed in the index are not in the folder", n_missing, shards.size()));

  if (pick.name) {
    const std::string& shard = weight_map.at(*pick.name);
    const std::string shard_path = path_join(folder, shard);
    if (is_symlink_loop(shard_path))
      throw Error(ErrorKind::Io, shard_path,
                  fmt::format("{} lists tensor '{}' in {}, which is a symlink loop (the links lead back to "
                              "themselves, never to a file)",
                              path_file_name(index_path), printable(*pick.name), shard));
    if (!is_regular_file(shard_path))
      throw Error(ErrorKind::Io, shard_path,
                  fmt::format("missing shard: {} lists tensor '{}' in {}, which is not there (not downloaded?)",
                              path_file_name(index_path), printable(*pick.name), shard));
    model.files.push_back(shard_path);
    const OpenedFile opened = open_file(shard_path);
    const auto* t = opened.header.find(*pick.name);
    if (!t)
      throw Error(ErrorKind::Format, shard_path,
                  fmt::format("{} says tensor '{}' is in this shard, but its header does not list it",
                              path_file_name(index_path), printable(*pick.name)),
                  kHeaderOffset);
    if (!options.tensor.empty() && t->shape.size() > 2)
      throw Error(ErrorKind::Unsupported, shard_path,
                  fmt::format("tensor '{}' has shape {}: only 1-D and 2-D tensors can be read as rows",
                              printable(t->name), shape_string(t->shape)),
                  kHeaderOffset);
    set_matrix(model, opened, *t, pick, options);
  } else {
    model.notes.insert(model.notes.end(), pick.notes.begin(), pick.notes.end());
  }
  attach_tokenizer_json(model, folder);
  return model;
}

}  // namespace

const SafetensorsTensor* SafetensorsHeader::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file_bytes, const std::string& path) {
  ByteCursor cursor(file_bytes, path);
  const std::uint64_t n_header = cursor.u64();
  if (n_header > kSafetensorsMaxHeaderBytes)
    throw_format(path, 0,
                 fmt::format("header length {} is over the {}-byte limit", n_header, kSafetensorsMaxHeaderBytes));
  if (!range_fits(kHeaderOffset, n_header, file_bytes.size()))
    throw_format(path, 0,
                 fmt::format("header length {} runs past the end of the file ({} bytes)", n_header, file_bytes.size()));
  const std::string_view text = cursor.string(n_header, "header");
  if (text.empty() || text.front() != '{')
    throw_format(path, kHeaderOffset, "header does not start with '{': not a safetensors file");

  const json root = parse_json(text, path, kHeaderOffset);
  if (!root.is_object()) throw_format(path, kHeaderOffset, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_offset = kHeaderOffset + n_header;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (value.is_null()) continue;  // the reference reader's field is optional: null is none
      if (!value.is_object()) throw_format(path, kHeaderOffset, "__metadata__ is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string())
          throw_format(path, kHeaderOffset, "__metadata__ '" + printable(mkey) + "' is not a string");
        header.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_tensor_entry(key, value, path));
  }

  // Sorted by offsets, the tensors must tile the data section: no gap, no overlap.
  std::sort(header.tensors.begin(), header.tensors.end(), [](const auto& a, const auto& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::uint64_t expected_begin = 0;
  for (const auto& t : header.tensors) {
    if (t.begin != expected_begin || t.end < t.begin)
      throw_format(path, kHeaderOffset,
                   fmt::format("tensor '{}': data_offsets [{}, {}] {} (expected it to begin at {})", printable(t.name),
                               t.begin, t.end,
                               t.end < t.begin            ? "run backwards"
                               : t.begin < expected_begin ? "overlap the previous tensor"
                                                          : "leave a gap after the previous tensor",
                               expected_begin));
    check_tensor_size(t, path);
    expected_begin = t.end;
  }
  const std::uint64_t data_bytes = file_bytes.size() - header.data_offset;
  if (expected_begin != data_bytes)
    throw_format(
        path, header.data_offset,
        expected_begin > data_bytes
            ? fmt::format("truncated: the tensors need {} data bytes, the file has {}", expected_begin, data_bytes)
            : fmt::format("{} bytes after the last tensor's data ({} data bytes, tensors cover {})",
                          data_bytes - expected_begin, data_bytes, expected_begin));
  return header;
}

ModelConfig parse_model_config(std::string_view json_text, const std::string& path) {
  const json root = parse_json(json_text, path);
  if (!root.is_object()) throw_format(path, 0, "config is not a JSON object");
  const json* text = nullptr;
  if (auto it = root.find("text_config"); it != root.end() && it->is_object()) text = &*it;

  // The nested text_config describes the language model that owns the embedding: it wins.
  auto lookup = [&](std::initializer_list<const char*> keys) -> std::pair<const json*, std::string> {
    for (const json* obj : {text, &root}) {
      if (!obj) continue;
      for (const char* key : keys)
        if (auto it = obj->find(key); it != obj->end() && !it->is_null())
          return {&*it, (obj == text ? std::string("text_config.") : std::string()) + key};
    }
    return {nullptr, ""};
  };
  auto get_int = [&](std::initializer_list<const char*> keys) -> std::optional<std::int64_t> {
    auto [v, key] = lookup(keys);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0)
      throw_format(path, 0, fmt::format("{} must be a non-negative integer, not {}", key, brief(*v)));
    return v->get<std::int64_t>();
  };

  ModelConfig config;
  config.vocab_size = get_int({"vocab_size", "n_vocab"});
  config.hidden_size = get_int({"hidden_size", "n_embd", "d_model"});
  if (auto [v, key] = lookup({"tie_word_embeddings"}); v) {
    if (!v->is_boolean()) throw_format(path, 0, fmt::format("{} must be true or false, not {}", key, brief(*v)));
    config.tie_word_embeddings = v->get<bool>();
  }
  // Descriptive only: a strange value is ignored rather than refused.
  if (auto it = root.find("architectures"); it != root.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
    config.architecture = (*it)[0].get<std::string>();
  else if (auto [v, key] = lookup({"model_type"}); v && v->is_string())
    config.architecture = v->get<std::string>();
  return config;
}

ModelConfig read_model_config(const std::string& path) {
  return parse_model_config(read_text_file(path, kMaxConfigBytes), path);
}

std::map<std::string, std::string> parse_safetensors_index(std::string_view json_text, const std::string& path) {
  const json root = parse_json(json_text, path);
  if (!root.is_object()) throw_format(path, 0, "index is not a JSON object");
  const auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object()) throw_format(path, 0, "index has no \"weight_map\" object");
  std::map<std::string, std::string> out;
  for (const auto& [name, file] : wm->items()) {
    if (!file.is_string()) throw_format(path, 0, fmt::format("weight_map['{}'] is not a file name", printable(name)));
    std::string f = file.get<std::string>();
    const bool bad = f.empty() || f.front() == '/' || f == ".." || f.rfind("../", 0) == 0 ||
                     f.find("/../") != std::string::npos || (f.size() >= 3 && f.ends_with("/..")) ||
                     f.find('\0') != std::string::npos;
    if (bad)
      throw_format(
          path, 0,
          fmt::format("weight_map['{}'] = '{}' is not a file inside the folder", printable(name), printable(f)));
    out.emplace(name, std::move(f));
  }
  return out;
}

Model open_safetensors_file(const std::string& path, const OpenOptions& options) {
  return open_files(path_parent(path), {path}, options, path_file_name(path));
}

std::optional<Model> open_safetensors_folder(const std::string& folder, const OpenOptions& options) {
  const std::string index = path_join(folder, "model.safetensors.index.json");
  if (is_regular_file(index)) return open_sharded(folder, index, options);
  // An index under another name (e.g. consolidated.safetensors.index.json).
  if (const auto indexes = list_files_with_suffix(folder, ".safetensors.index.json"); indexes.size() == 1)
    return open_sharded(folder, path_join(folder, indexes[0]), options);
  const auto names = list_files_with_suffix(folder, ".safetensors");
  if (names.empty()) return std::nullopt;
  std::vector<std::string> paths;
  for (const auto& n : names) paths.push_back(path_join(folder, n));
  return open_files(folder, paths, options, path_file_name(folder));
}

}  // namespace embstat
