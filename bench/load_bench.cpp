// load_bench — loading the embedding of a huge sharded checkpoint costs what the embedding costs.
//
// Writes a synthetic safetensors checkpoint: an index, shard 1 holding the token embedding
// (real bytes, BF16, Qwen3-0.6B's 151,936 x 1,024 by default) followed by a large "layer"
// tensor, and further shards of layer tensors, all sparse files totalling --other-gb GB. It
// also writes the embedding alone in a file of its own. Then, each in a fresh child process
// (so peak RSS is per case), it times open_model() + decode_to_f32() on both and prints the
// wall time and peak resident memory: the checkpoint should cost the same as the embedding
// alone, and RSS should be about the f32 matrix plus the mapped embedding bytes.
//
//   load_bench [--rows N] [--dim D] [--other-gb G] [--shards S] [--dir DIR] [--keep]
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/matrix/matrix.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Args {
  std::int64_t rows = 151936;
  std::int64_t dim = 1024;
  double other_gb = 40;
  int shards = 4;
  std::string dir;
  bool keep = false;
};

struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::uint64_t n_bytes;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "load_bench: %s\n", why.c_str());
  std::exit(1);
}

// Writes a safetensors file: header, then `data` for the first tensor if given, then extends
// the file to its full size with ftruncate (a hole: no disk blocks, reads as zeros).
void write_shard(const std::string& path, const std::vector<Tensor>& tensors, const std::vector<std::uint8_t>* data) {
  ordered_json h;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    h[t.name] = {{"dtype", "BF16"}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.n_bytes}}};
    offset += t.n_bytes;
  }
  std::string header = h.dump();
  while ((8 + header.size()) % 8 != 0) header += ' ';
  const std::uint64_t n = header.size();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("cannot create " + path);
  bool ok = ::write(fd, &n, 8) == 8 && ::write(fd, header.data(), header.size()) == static_cast<ssize_t>(header.size());
  if (ok && data) {
    std::size_t done = 0;
    while (ok && done < data->size()) {
      const ssize_t w = ::write(fd, data->data() + done, data->size() - done);
      ok = w > 0;
      done += ok ? static_cast<std::size_t>(w) : 0;
    }
  }
  ok = ok && ::ftruncate(fd, static_cast<off_t>(8 + n + offset)) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) die("cannot write " + path);
}

std::uint64_t disk_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

struct Result {
  double seconds = 0;
  long peak_rss_kb = 0;
  std::int64_t rows = 0;
};

// Opens `spec` and decodes its embedding in a child process; returns its wall time and peak RSS.
Result measure(const std::string& spec) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(pipefd[0]);
    Result r;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const embstat::Model model = embstat::open_model(spec, {});
      const embstat::Matrix m = embstat::decode_to_f32(model.matrix);
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      r.rows = m.n_rows();
    } catch (const embstat::Error& e) {
      std::fprintf(stderr, "load_bench: %s\n", e.what());
      ::_exit(1);
    }
    if (::write(pipefd[1], &r, sizeof r) != sizeof r) ::_exit(1);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  Result r;
  const bool got = ::read(pipefd[0], &r, sizeof r) == sizeof r;
  ::close(pipefd[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("measuring " + spec + " failed");
  r.peak_rss_kb = usage.ru_maxrss;
  return r;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + k);
      return argv[++i];
    };
    if (k == "--rows")
      a.rows = std::stoll(value());
    else if (k == "--dim")
      a.dim = std::stoll(value());
    else if (k == "--other-gb")
      a.other_gb = std::stod(value());
    else if (k == "--shards")
      a.shards = std::stoi(value());
    else if (k == "--dir")
      a.dir = value();
    else if (k == "--keep")
      a.keep = true;
    else
      die("unknown option " + k + " (--rows N --dim D --other-gb G --shards S --dir DIR --keep)");
  }
  if (a.rows <= 0 || a.dim <= 0 || a.other_gb < 0 || a.shards < 1) die("bad sizes");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const std::string dir =
      args.dir.empty() ? (fs::temp_directory_path() / ("embstat-load-bench-" + std::to_string(::getpid()))).string()
                       : args.dir;
  fs::create_directories(dir + "/checkpoint");
  fs::create_directories(dir + "/alone");

  // The embedding: BF16 values from a seeded normal distribution (real bytes on disk).
  const std::uint64_t emb_bytes = static_cast<std::uint64_t>(args.rows) * static_cast<std::uint64_t>(args.dim) * 2;
  std::vector<std::uint8_t> emb(emb_bytes);
  std::mt19937_64 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (std::uint64_t i = 0; i < emb_bytes / 2; ++i) {
    const std::uint16_t h = embstat::f32_to_bf16(normal(rng));
    std::memcpy(emb.data() + 2 * i, &h, 2);
  }

  // The other tensors: layer weights of [rows_big, dim] BF16, ~1 GiB each, spread over the shards.
  const std::uint64_t other_total = static_cast<std::uint64_t>(args.other_gb * 1e9);
  const std::int64_t big_rows = std::max<std::int64_t>(1, (1ll << 30) / (args.dim * 2));
  const std::uint64_t big_bytes = static_cast<std::uint64_t>(big_rows) * static_cast<std::uint64_t>(args.dim) * 2;
  const std::uint64_t n_big = std::max<std::uint64_t>(1, other_total / big_bytes);
  std::vector<std::vector<Tensor>> shards(static_cast<std::size_t>(args.shards));
  shards[0].push_back({"model.embed_tokens.weight", {args.rows, args.dim}, emb_bytes});
  for (std::uint64_t i = 0; i < n_big; ++i)
    shards[i % shards.size()].push_back(
        {fmt::format("model.layers.{}.mlp.weight", i), {big_rows, args.dim}, big_bytes});

  ordered_json index;
  index["metadata"] = {{"total_size", emb_bytes + n_big * big_bytes}};
  index["weight_map"] = ordered_json::object();
  std::uint64_t on_disk = 0;
  std::uint64_t apparent = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards.size());
    const std::string path = dir + "/checkpoint/" + name;
    write_shard(path, shards[s], s == 0 ? &emb : nullptr);
    for (const auto& t : shards[s]) index["weight_map"][t.name] = name;
    on_disk += disk_bytes(path);
    apparent += fs::file_size(path);
  }
  {
    std::FILE* f = std::fopen((dir + "/checkpoint/model.safetensors.index.json").c_str(), "w");
    if (!f) die("cannot write the index");
    const std::string text = index.dump(2);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  write_shard(dir + "/alone/model.safetensors", {shards[0][0]}, &emb);
  std::vector<std::uint8_t>().swap(emb);  // children must not inherit (and count) this buffer

  std::printf("checkpoint: %zu shards, %.1f GB apparent (%.2f GB on disk: sparse), %llu tensors\n", shards.size(),
              static_cast<double>(apparent) / 1e9, static_cast<double>(on_disk) / 1e9,
              static_cast<unsigned long long>(n_big + 1));
  std::printf("embedding:  %lld x %lld BF16 = %.1f MB; as f32 %.1f MB\n", static_cast<long long>(args.rows),
              static_cast<long long>(args.dim), static_cast<double>(emb_bytes) / 1e6,
              static_cast<double>(emb_bytes) * 2 / 1e6);

  // Warm both once (page cache), then measure; best of three each.
  measure(dir + "/alone/model.safetensors");
  measure(dir + "/checkpoint");
  Result alone{1e9, 0, 0}, full{1e9, 0, 0};
  for (int rep = 0; rep < 3; ++rep) {
    const Result a = measure(dir + "/alone/model.safetensors");
    const Result f = measure(dir + "/checkpoint");
    if (a.seconds < alone.seconds) alone = a;
    if (f.seconds < full.seconds) full = f;
  }
  std::printf("%-34s %10s %14s\n", "load + decode to f32", "seconds", "peak RSS MB");
  std::printf("%-34s %10.3f %14.1f\n", "embedding alone (one file)", alone.seconds, alone.peak_rss_kb / 1024.0);
  std::printf("%-34s %10.3f %14.1f\n", "sharded checkpoint", full.seconds, full.peak_rss_kb / 1024.0);
  std::printf("ratio checkpoint / alone: time %.2f, RSS %.2f\n", full.seconds / alone.seconds,
              static_cast<double>(full.peak_rss_kb) / static_cast<double>(alone.peak_rss_kb));

  if (!args.keep) fs::remove_all(dir);
  return 0;
}
