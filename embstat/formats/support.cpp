#include "embstat/formats/support.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

std::string read_text_file(const std::string& path, std::uint64_t max_bytes) {
  auto file = MappedFile::open(path);
  if (file->size() > max_bytes)
    throw Error(ErrorKind::Format, path,
                fmt::format("file is {} bytes; more than the {} bytes such a file may have", file->size(), max_bytes));
  return std::string(reinterpret_cast<const char*>(file->data()), static_cast<std::size_t>(file->size()));
}

nlohmann::json parse_json(std::string_view text, const std::string& path, std::uint64_t base_offset) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> the reason.
    std::string why = e.what();
    if (auto p = why.find("] "); p != std::string::npos) why = why.substr(p + 2);
    const std::uint64_t at = e.byte > 0 ? e.byte - 1 : 0;
    throw Error(ErrorKind::Format, path, "bad JSON: " + why, base_offset + at);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Format, path, std::string("bad JSON: ") + e.what(), base_offset);
  }
}

std::string path_file_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string path_parent(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string path_join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_symlink_loop(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) != 0 && errno == ELOOP;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void attach_vocabulary(Model& model, const std::string& tokenizer_path, const std::function<Vocabulary()>& load) {
  model.files.push_back(tokenizer_path);
  try {
    model.vocab = load();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Format || e.kind() == ErrorKind::Internal) throw;
    model.notes.push_back(
        fmt::format("{}: vocabulary not loaded ({}); rows are unnamed", path_file_name(tokenizer_path), e.message()));
    return;
  }
  if (model.vocab.source.empty()) model.vocab.source = tokenizer_path;
  if (model.tensor && static_cast<std::int64_t>(model.vocab.size()) > model.matrix.n_rows)
    model.notes.push_back(
        fmt::format("the tokenizer has {} tokens but the matrix only {} rows: ids from {} have no row",
                    model.vocab.size(), model.matrix.n_rows, model.matrix.n_rows));
}

void attach_tokenizer_json(Model& model, const std::string& folder) {
  const std::string path = path_join(folder, "tokenizer.json");
  if (is_regular_file(path)) {
    attach_vocabulary(model, path, [&] { return load_tokenizer_json(path); });
    return;
  }
  std::string seen;
  for (const char* other : {"tokenizer.model", "vocab.json", "vocab.txt", "tokenizer.bin"})
    if (is_regular_file(path_join(folder, other))) seen += fmt::format("{}{}", seen.empty() ? "" : ", ", other);
  if (seen.empty())
    model.notes.push_back("no tokenizer.json beside the weights: rows are unnamed");
  else
    model.notes.push_back(
        fmt::format("no tokenizer.json beside the weights ({} present, but only tokenizer.json is "
                    "read): rows are unnamed",
                    seen));
}

}  // namespace embstat
