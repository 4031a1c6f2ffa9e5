#include "embstat/formats/tensor_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/gguf.hpp"
#include "embstat/formats/hf_cache.hpp"
#include "embstat/formats/llama2c.hpp"
#include "embstat/formats/safetensors.hpp"
#include "embstat/formats/support.hpp"

namespace embstat {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxIndexBytes = 64u << 20;

// Regular files in `folder` whose names end in `suffix`, sorted.
std::vector<std::string> names_ending_in(const std::string& folder, std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > suffix.size() && name.ends_with(suffix) && is_regular_file(path_join(folder, name)))
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The per-layer tensors of a llama2.c checkpoint in the order of each block, with their shapes
// (Meta's names; w1 = gate, w3 = up, w2 = down as in llama2.c's run.c).
struct Llama2cBlock {
  const char* name;  // "attention.wq"; a norm is a vector
  std::int64_t rows, cols;
};

std::vector<Llama2cBlock> llama2c_matrices(const Llama2cHeader& h) {
  const std::int64_t kv_dim = h.dim / h.n_heads * h.n_kv_heads;
  return {{"attention.wq", h.dim, h.dim},           {"attention.wk", kv_dim, h.dim},
          {"attention.wv", kv_dim, h.dim},          {"attention.wo", h.dim, h.dim},
          {"feed_forward.w1", h.hidden_dim, h.dim}, {"feed_forward.w2", h.dim, h.hidden_dim},
          {"feed_forward.w3", h.hidden_dim, h.dim}};
}

std::string layer_name(std::int64_t layer, std::string_view what) {
  return fmt::format("layers.{}.{}.weight", layer, what);
}

}  // namespace

std::int64_t StoredTensor::n_elements() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;  // every reader checked the product fits
  return n;
}

void TensorStore::add(StoredTensor tensor) {
  const auto [it, fresh] = index_.emplace(tensor.name, tensors_.size());
  if (!fresh)
    throw Error(ErrorKind::Format, files_[tensor.file],
                fmt::format("tensor '{}' is also in {}", tensor.name, files_[tensors_[it->second].file]));
  tensors_.push_back(std::move(tensor));
}

const StoredTensor* TensorStore::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const StoredTensor& TensorStore::require(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  throw Error(ErrorKind::Format, path_, fmt::format("missing tensor '{}'", name));
}

std::span<const std::uint8_t> TensorStore::bytes(const StoredTensor& tensor) const {
  return mappings_.at(tensor.file)->bytes().subspan(tensor.file_offset, tensor.n_bytes);
}

MatrixView TensorStore::matrix(const StoredTensor& tensor) const {
  if (!tensor.dtype || !dtype_info(*tensor.dtype).decodable)
    throw Error(ErrorKind::Unsupported, files_[tensor.file],
                fmt::format("tensor '{}': type {} cannot be decoded by embstat", tensor.name, tensor.dtype_name));
  const auto& file = mappings_.at(tensor.file);
  MatrixView view;
  view.dtype = *tensor.dtype;
  view.n_cols = tensor.row_length();
  view.n_rows = view.n_cols == 0 ? 0 : tensor.n_elements() / view.n_cols;
  const auto row_bytes = dtype_bytes(*tensor.dtype, static_cast<std::uint64_t>(view.n_cols));
  if (!row_bytes || *row_bytes * static_cast<std::uint64_t>(view.n_rows) != tensor.n_bytes)
    throw Error(ErrorKind::Format, files_[tensor.file],
                fmt::format("tensor '{}': rows of {} {} values do not tile its {} bytes", tensor.name, view.n_cols,
                            tensor.dtype_name, tensor.n_bytes));
  view.row_bytes = *row_bytes;
  view.data = file->data() + tensor.file_offset;
  view.owner = file;
  view.mapping = file.get();
  return view;
}

std::shared_ptr<TensorStore> TensorStore::open_safetensors(const std::string& folder,
                                                           const std::vector<std::string>& paths) {
  auto store = std::shared_ptr<TensorStore>(new TensorStore());
  store->format_ = "safetensors";
  for (const auto& p : paths) {
    auto file = MappedFile::open(p);
    const SafetensorsHeader header = parse_safetensors_header(file->bytes(), p);
    const std::size_t index = store->files_.size();
    store->files_.push_back(p);
    store->mappings_.push_back(file);
    for (const auto& t : header.tensors) {
      StoredTensor s;
      s.name = t.name;
      s.dtype_name = t.dtype_name;
      s.dtype = t.dtype;
      s.shape = t.shape;
      s.n_bytes = t.end - t.begin;
      s.file = index;
      s.file_offset = header.data_offset + t.begin;
      store->add(std::move(s));
    }
  }
  const std::string config = path_join(folder, "config.json");
  if (is_regular_file(config)) {
    store->config_ = read_arch_config(config);
    store->files_.push_back(config);
    store->mappings_.push_back(nullptr);
  }
  return store;
}

std::shared_ptr<TensorStore> TensorStore::open_gguf(const std::string& path) {
  auto store = std::shared_ptr<TensorStore>(new TensorStore());
  store->format_ = "gguf";
  auto file = MappedFile::open(path);
  store->gguf_ = std::make_shared<const GgufFile>(parse_gguf(file));
  store->files_.push_back(path);
  store->mappings_.push_back(file);
  for (const auto& t : store->gguf_->tensors) {
    StoredTensor s;
    s.name = t.name;
    s.dtype_name = t.type_name;
    s.dtype = t.dtype;
    s.shape.assign(t.ne.rbegin(), t.ne.rend());
    s.n_bytes = t.n_bytes;
    s.file_offset = t.file_offset;
    store->add(std::move(s));
  }
  store->config_ = arch_config_from_gguf(*store->gguf_);
  return store;
}

std::shared_ptr<TensorStore> TensorStore::open_llama2c(const std::string& path) {
  auto store = std::shared_ptr<TensorStore>(new TensorStore());
  store->format_ = "llama2c";
  auto file = MappedFile::open(path);
  const Llama2cHeader h = parse_llama2c_header(file->bytes(), path);  // checks the size: offsets below fit
  store->files_.push_back(path);
  store->mappings_.push_back(file);
  store->config_ = arch_config_from_llama2c(h);
  store->llama2c_group_size_ = h.version == 2 ? h.group_size : 0;

  std::uint64_t at = h.header_bytes;
  auto f32 = [&](std::string name, std::vector<std::int64_t> shape) {
    StoredTensor s;
    s.name = std::move(name);
    s.dtype_name = "F32";
    s.dtype = DType::F32;
    s.shape = std::move(shape);
    s.n_bytes = static_cast<std::uint64_t>(s.n_elements()) * 4;
    s.file_offset = at;
    at += s.n_bytes;
    store->add(std::move(s));
  };
  // Version 2: int8 values, then one f32 scale per group.
  auto matrix = [&](std::string name, std::int64_t rows, std::int64_t cols) {
    if (h.version != 2) return f32(std::move(name), {rows, cols});
    StoredTensor s;
    s.name = name;
    s.dtype_name = "I8";
    s.dtype = DType::I8;
    s.shape = {rows, cols};
    s.n_bytes = static_cast<std::uint64_t>(rows * cols);
    s.file_offset = at;
    at += s.n_bytes;
    store->add(std::move(s));
    f32(name + ".scales", {rows * cols / h.group_size});
  };
  const auto blocks = llama2c_matrices(h);
  if (h.version == 0) {
    f32("tok_embeddings.weight", {h.vocab_size, h.dim});
    for (std::int64_t l = 0; l < h.n_layers; ++l) f32(layer_name(l, "attention_norm"), {h.dim});
    for (std::size_t m = 0; m < blocks.size(); ++m) {
      if (m == 4)
        for (std::int64_t l = 0; l < h.n_layers; ++l) f32(layer_name(l, "ffn_norm"), {h.dim});
      for (std::int64_t l = 0; l < h.n_layers; ++l)
        f32(layer_name(l, blocks[m].name), {blocks[m].rows, blocks[m].cols});
    }
    f32("norm.weight", {h.dim});
    f32("freq_cis_real", {h.seq_len, h.dim / h.n_heads / 2});
    f32("freq_cis_imag", {h.seq_len, h.dim / h.n_heads / 2});
  } else {
    for (std::int64_t l = 0; l < h.n_layers; ++l) f32(layer_name(l, "attention_norm"), {h.dim});
    for (std::int64_t l = 0; l < h.n_layers; ++l) f32(layer_name(l, "ffn_norm"), {h.dim});
    f32("norm.weight", {h.dim});
    matrix("tok_embeddings.weight", h.vocab_size, h.dim);
    for (const auto& b : blocks)
      for (std::int64_t l = 0; l < h.n_layers; ++l) matrix(layer_name(l, b.name), b.rows, b.cols);
  }
  if (!h.shared_classifier) matrix("output.weight", h.vocab_size, h.dim);
  if (at != h.file_bytes)
    throw Error(ErrorKind::Internal, path,
                fmt::format("llama2.c tensor listing ends at byte {}, the header implies {}", at, h.file_bytes));
  return store;
}

std::shared_ptr<const TensorStore> TensorStore::open(const std::string& spec) {
  std::string path = spec;
  std::error_code ec;
  if (!fs::exists(fs::path(spec), ec) && looks_like_hub_id(spec))
    if (auto snap = resolve_hub_id(spec)) path = snap->folder;

  std::shared_ptr<TensorStore> store;
  if (is_directory(path)) {
    if (auto snap = resolve_repo_folder(path)) path = snap->folder;
    std::string index = path_join(path, "model.safetensors.index.json");
    if (!is_regular_file(index))
      if (const auto indexes = names_ending_in(path, ".safetensors.index.json"); indexes.size() == 1)
        index = path_join(path, indexes[0]);
    if (is_regular_file(index)) {
      const auto weight_map = parse_safetensors_index(read_text_file(index, kMaxIndexBytes), index);
      std::set<std::string> shards;
      for (const auto& [name, shard] : weight_map) shards.insert(shard);
      std::vector<std::string> paths;
      for (const auto& shard : shards) {
        const std::string p = path_join(path, shard);
        if (!is_regular_file(p))
          throw Error(
              ErrorKind::Io, p,
              fmt::format("missing shard: {} lists it, but it is not there (not downloaded?)", path_file_name(index)));
        paths.push_back(p);
      }
      store = open_safetensors(path, paths);
      for (const auto& [name, shard] : weight_map) {
        const StoredTensor* t = store->find(name);
        if (!t || store->files_[t->file] != path_join(path, shard))
          throw Error(ErrorKind::Format, path_join(path, shard),
                      fmt::format("{} says tensor '{}' is in this shard, but its header does not list it",
                                  path_file_name(index), name));
      }
      store->files_.push_back(index);
      store->mappings_.push_back(nullptr);
    } else if (auto names = names_ending_in(path, ".safetensors"); !names.empty()) {
      for (auto& n : names) n = path_join(path, n);
      store = open_safetensors(path, names);
    } else {
      auto ggufs = names_ending_in(path, ".gguf");
      std::erase_if(ggufs, [](const std::string& n) { return n.rfind("mmproj", 0) == 0; });
      if (ggufs.size() != 1)
        throw Error(ErrorKind::Io, path,
                    ggufs.empty() ? "no model weights here (looked for *.safetensors and one *.gguf)"
                                  : fmt::format("holds {} GGUF files; name one", ggufs.size()));
      store = open_gguf(path_join(path, ggufs[0]));
    }
  } else {
    if (!is_regular_file(path)) throw_io(path, "no such file or folder");
    auto file = MappedFile::open(path);
    const auto head = file->bytes().first(std::min<std::size_t>(file->size(), 16));
    std::uint32_t magic = 0;
    if (head.size() >= 4) std::memcpy(&magic, head.data(), 4);
    if (head.size() >= 4 && std::memcmp(head.data(), "GGUF", 4) == 0) {
      store = open_gguf(path);
    } else if (magic == kLlama2cMagic || path.ends_with(".bin")) {
      store = open_llama2c(path);
    } else if (path.ends_with(".safetensors") || (head.size() > 8 && head[8] == '{')) {
      store = open_safetensors(path_parent(path), {path});
    } else {
      throw Error(ErrorKind::Unsupported, path,
                  "not a checkpoint the tensor store reads (safetensors, GGUF or a llama2.c .bin)");
    }
  }
  store->path_ = path;
  return store;
}

}  // namespace embstat
