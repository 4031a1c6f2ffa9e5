#include "embstat/formats/llama2c.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "embstat/base/byte_cursor.hpp"
#include "embstat/base/checked.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/support.hpp"
#include "embstat/formats/tensor_names.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

constexpr std::uint64_t kLegacyHeaderBytes = 7 * sizeof(std::int32_t);  // seven int32 fields
constexpr std::uint64_t kVersionedHeaderBytes = 256;
// No real checkpoint comes near these; they keep every product below 2^63 before checking.
constexpr std::int64_t kMaxDim = 1 << 20;
constexpr std::int64_t kMaxLayers = 1 << 12;
constexpr std::int64_t kMaxVocab = 1 << 26;

// Overflow-checked accumulation of a byte layout: any overflow makes the whole sum invalid.
class Sum {
 public:
  Sum& add(std::uint64_t v) {
    if (const auto r = checked_add(total_, v))
      total_ = *r;
    else
      ok_ = false;
    return *this;
  }
  Sum& add(std::uint64_t a, std::uint64_t b) {
    const auto p = checked_mul(a, b);
    if (!p) ok_ = false;
    return add(p.value_or(0));
  }
  Sum& add(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    const auto p = checked_mul(a, b);
    if (!p) ok_ = false;
    return add(p.value_or(0), c);
  }
  std::optional<std::uint64_t> value() const { return ok_ ? std::optional(total_) : std::nullopt; }

 private:
  std::uint64_t total_ = 0;
  bool ok_ = true;
};

std::string config_string(const Llama2cHeader& h) {
  return fmt::format("dim {}, hidden_dim {}, n_layers {}, n_heads {}, n_kv_heads {}, vocab_size {}, seq_len {}", h.dim,
                     h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads, h.vocab_size, h.seq_len);
}

void check_config(const Llama2cHeader& h, const std::string& path) {
  auto bad = [&](const std::string& why) {
    throw_format(path, 0, fmt::format("not a llama2.c checkpoint: {} ({})", why, config_string(h)));
  };
  if (h.dim <= 0 || h.hidden_dim <= 0 || h.n_layers <= 0 || h.n_heads <= 0 || h.n_kv_heads <= 0 || h.vocab_size <= 0 ||
      h.seq_len <= 0)
    bad("header values must be positive");
  if (h.dim > kMaxDim || h.hidden_dim > kMaxDim || h.seq_len > kMaxDim || h.n_heads > h.dim)
    bad("dimensions are implausibly large");
  if (h.n_layers > kMaxLayers) bad("too many layers");
  if (h.vocab_size > kMaxVocab) bad("vocabulary is implausibly large");
  if (h.dim % h.n_heads != 0) bad("dim is not a multiple of n_heads");
  if (h.n_kv_heads > h.n_heads || h.n_heads % h.n_kv_heads != 0) bad("n_heads is not a multiple of n_kv_heads");
}

// Layout of the weights after the header; fills the offsets and file_bytes.
void compute_layout(Llama2cHeader& h, const std::string& path) {
  const auto dim = static_cast<std::uint64_t>(h.dim);
  const auto hidden = static_cast<std::uint64_t>(h.hidden_dim);
  const auto layers = static_cast<std::uint64_t>(h.n_layers);
  const auto vocab = static_cast<std::uint64_t>(h.vocab_size);
  const std::uint64_t head_size = dim / static_cast<std::uint64_t>(h.n_heads);
  const std::uint64_t kv_dim = head_size * static_cast<std::uint64_t>(h.n_kv_heads);
  // Element counts of the per-layer matrices, in file order: wq, wk, wv, wo, w1, w2, w3.
  const std::uint64_t layer_mats[7] = {dim * dim,    dim * kv_dim, dim * kv_dim, dim * dim,
                                       hidden * dim, dim * hidden, hidden * dim};
  const std::uint64_t emb = vocab * dim;  // < 2^46 by the caps

  Sum s;
  s.add(h.header_bytes);
  if (h.version == 0) {
    h.embedding_offset = h.header_bytes;
    s.add(emb, 4).add(layers, dim, 4);  // embedding, rms_att
    for (int m = 0; m < 4; ++m) s.add(layers, layer_mats[m], 4);
    s.add(layers, dim, 4);  // rms_ffn
    for (int m = 4; m < 7; ++m) s.add(layers, layer_mats[m], 4);
    s.add(dim, 4);  // rms_final
    const std::uint64_t freq = static_cast<std::uint64_t>(h.seq_len) * head_size / 2;
    s.add(freq, 2, 4);  // freq_cis_real, freq_cis_imag
  } else {
    s.add(2 * layers + 1, dim, 4);  // rms_att, rms_ffn, rms_final in f32
    h.embedding_offset = s.value().value_or(0);
    const std::uint64_t scale_bytes = h.version == 2 ? 4 : 0;
    const std::uint64_t value_bytes = h.version == 2 ? 1 : 4;
    const std::uint64_t groups = h.version == 2 ? static_cast<std::uint64_t>(h.group_size) : 1;
    auto add_matrix = [&](std::uint64_t n, std::uint64_t count = 1) {  // count matrices of n elements
      s.add(count, n, value_bytes);
      if (h.version == 2) s.add(count, n / groups, scale_bytes);
    };
    add_matrix(emb);
    if (h.version == 2) h.embedding_scales = h.embedding_offset + emb;
    for (auto n : layer_mats) add_matrix(n, layers);
  }
  if (!h.shared_classifier) {
    h.classifier_offset = s.value().value_or(0);
    if (h.version == 2) {
      h.classifier_scales = h.classifier_offset + emb;
      s.add(emb).add(emb / static_cast<std::uint64_t>(h.group_size), 4);
    } else {
      s.add(emb, 4);
    }
  }
  if (!s.value()) throw_format(path, 0, "header values overflow the layout: " + config_string(h));
  h.file_bytes = *s.value();
}

}  // namespace

Llama2cHeader parse_llama2c_header(std::span<const std::uint8_t> file_bytes, const std::string& path) {
  ByteCursor cursor(file_bytes, path);
  Llama2cHeader h;
  const std::uint32_t first = file_bytes.size() >= 4 ? cursor.u32() : 0;
  if (first == kLlama2cMagic) {
    const std::int32_t version = cursor.i32();
    if (version != 1 && version != 2)
      throw Error(ErrorKind::Unsupported, path,
                  fmt::format("llama2.c checkpoint version {} is not supported (1 and 2 are)", version), 4);
    h.version = version;
    h.header_bytes = kVersionedHeaderBytes;
  } else {
    cursor.seek(0);
    h.version = 0;
    h.header_bytes = kLegacyHeaderBytes;
    if (file_bytes.size() < kLegacyHeaderBytes)
      throw_format(path, 0,
                   fmt::format("not a llama2.c checkpoint: {} bytes, shorter than the {}-byte header",
                               file_bytes.size(), kLegacyHeaderBytes));
  }
  h.dim = cursor.i32();
  h.hidden_dim = cursor.i32();
  h.n_layers = cursor.i32();
  h.n_heads = cursor.i32();
  h.n_kv_heads = cursor.i32();
  const std::int64_t vocab = cursor.i32();
  h.seq_len = cursor.i32();
  if (h.version == 0) {
    h.shared_classifier = vocab > 0;  // run.c: a negative vocab_size marks an unshared classifier
    h.vocab_size = vocab < 0 ? -vocab : vocab;
  } else {
    h.vocab_size = vocab;
    const std::uint8_t shared = cursor.u8();
    if (shared > 1)
      throw_format(path, cursor.offset() - 1, fmt::format("shared_classifier flag is {}, not 0 or 1", shared));
    h.shared_classifier = shared == 1;
    if (h.version == 2) {
      h.group_size = cursor.i32();
      if (h.group_size <= 0 || h.group_size > (1 << 20))
        throw_format(path, cursor.offset() - 4,
                     fmt::format("group_size {} is not a positive group size", h.group_size));
    }
    if (file_bytes.size() < kVersionedHeaderBytes)
      throw_format(path, cursor.offset(),
                   fmt::format("truncated: the header needs {} bytes, the file has {}", kVersionedHeaderBytes,
                               file_bytes.size()));
  }
  check_config(h, path);
  if (h.version == 2 && h.dim % h.group_size != 0)
    throw_format(path, 0, fmt::format("dim {} is not a multiple of group_size {}", h.dim, h.group_size));
  compute_layout(h, path);
  if (file_bytes.size() != h.file_bytes)
    throw_format(path, 0,
                 fmt::format("{}: the header ({}{}) implies {} bytes, the file has {}",
                             h.version == 0 ? "not a llama2.c checkpoint, or truncated" : "wrong size",
                             config_string(h), h.version == 2 ? fmt::format(", group_size {}", h.group_size) : "",
                             h.file_bytes, file_bytes.size()));
  return h;
}

Model open_llama2c(const std::string& path, const OpenOptions& options) {
  auto file = MappedFile::open(path);
  const Llama2cHeader h = parse_llama2c_header(file->bytes(), path);

  Model model;
  model.format = "llama2c";
  model.name = path_file_name(path);
  model.files.push_back(path);
  model.config.vocab_size = h.vocab_size;
  model.config.hidden_size = h.dim;
  model.config.architecture = fmt::format("llama2.c v{}", h.version);

  // Names as in Meta's checkpoints, which export.py reads.
  std::vector<TensorCandidate> candidates = {{"tok_embeddings.weight", {h.vocab_size, h.dim}}};
  if (!h.shared_classifier) candidates.push_back({"output.weight", {h.vocab_size, h.dim}});
  const TensorPick pick = pick_embedding_tensor(candidates, options, model.config, path);
  const bool classifier = pick.name == "output.weight";
  const std::uint64_t offset = classifier ? h.classifier_offset : h.embedding_offset;
  const std::uint64_t scales = classifier ? h.classifier_scales : h.embedding_scales;
  const std::uint64_t n_elems = static_cast<std::uint64_t>(h.vocab_size) * static_cast<std::uint64_t>(h.dim);

  TensorInfo info;
  info.name = pick.name.value_or("");
  info.shape = {h.vocab_size, h.dim};
  info.file = path;
  info.file_offset = offset;
  model.matrix.n_rows = h.vocab_size;
  model.matrix.n_cols = h.dim;
  model.matrix.dtype = DType::F32;
  model.matrix.row_bytes = static_cast<std::uint64_t>(h.dim) * sizeof(float);
  if (h.version == 2) {
    // int8 values then one f32 scale per group: not row-interleaved, so dequantise now.
    info.dtype = DType::I8;
    info.n_bytes = n_elems + n_elems / static_cast<std::uint64_t>(h.group_size) * 4;
    auto dequant = std::make_shared<Matrix>(h.vocab_size, h.dim);
    const auto* q = reinterpret_cast<const std::int8_t*>(file->data() + offset);
    const std::uint8_t* s = file->data() + scales;
    const auto group = static_cast<std::uint64_t>(h.group_size);
    float* out = dequant->data();
    const auto n_groups = static_cast<std::int64_t>(n_elems / group);
#pragma omp parallel for schedule(static)
    for (std::int64_t g = 0; g < n_groups; ++g) {
      float scale;
      std::memcpy(&scale, s + 4 * static_cast<std::uint64_t>(g), sizeof scale);
      const std::uint64_t base = static_cast<std::uint64_t>(g) * group;
      for (std::uint64_t i = 0; i < group; ++i) out[base + i] = static_cast<float>(q[base + i]) * scale;
    }
    model.matrix.data = reinterpret_cast<const std::uint8_t*>(dequant->data());
    model.matrix.owner = dequant;
    model.notes.push_back(
        fmt::format("int8 with one f32 scale per {} values (llama2.c version 2), dequantised to f32", h.group_size));
  } else {
    info.dtype = DType::F32;
    info.n_bytes = n_elems * 4;
    model.matrix.data = file->data() + offset;
    model.matrix.owner = file;
    model.matrix.mapping = file.get();
    file->will_need(offset, info.n_bytes);
  }
  model.tensor = info;
  model.tied = pick.tied;
  model.has_output_matrix = pick.has_output_matrix;
  model.notes.insert(model.notes.end(), pick.notes.begin(), pick.notes.end());

  // The tokenizer: tok<vocab>.bin (as llama2.c names custom ones) or tokenizer.bin beside it.
  const std::string dir = path_parent(path);
  for (const std::string& name : {fmt::format("tok{}.bin", h.vocab_size), std::string("tokenizer.bin")}) {
    const std::string tok = path_join(dir, name);
    if (!is_regular_file(tok)) continue;
    attach_vocabulary(model, tok, [&] { return load_llama2c_tokenizer(tok, h.vocab_size); });
    return model;
  }
  model.notes.push_back(
      fmt::format("no tok{}.bin or tokenizer.bin beside the checkpoint: rows are unnamed", h.vocab_size));
  return model;
}

}  // namespace embstat
