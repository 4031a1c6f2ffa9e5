// BPE merging (see bpe_model.hpp).
#include "embstat/vocab/bpe_model.hpp"

#include <fmt/format.h>

#include <queue>

#include "embstat/base/error.hpp"
#include "embstat/vocab/normalized_text.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

namespace {

// Words longer than this are not cached (they rarely recur); the cache stops growing at
// kMaxCachedWords entries.
constexpr std::size_t kMaxCachedWordBytes = 256;
constexpr std::size_t kMaxCachedWords = 1 << 18;

std::string byte_token(unsigned b) {
  return fmt::format("<0x{:02X}>", b);
}

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, std::int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
                   const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)), source_(source) {
  for (unsigned b = 0; b < 256; ++b) {
    const std::string piece =
        options_.byte_level ? encode_byte_level(std::string(1, static_cast<char>(b))) : byte_token(b);
    const auto it = vocab_.find(piece);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  const std::size_t prefix = options_.continuing_subword_prefix.size();
  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const auto ia = vocab_.find(a), ib = vocab_.find(b);
    const std::string merged =
        a +
        (b.size() >= prefix && b.compare(0, prefix, options_.continuing_subword_prefix) == 0 ? b.substr(prefix) : b);
    const auto im = vocab_.find(merged);
    const auto missing = ia == vocab_.end() ? a : ib == vocab_.end() ? b : im == vocab_.end() ? merged : "";
    if (ia == vocab_.end() || ib == vocab_.end() || im == vocab_.end())
      throw Error(ErrorKind::Format, source,
                  fmt::format("merge {} ({} {}) names {}, which is not in the vocabulary", rank,
                              escape_display_quoted(a), escape_display_quoted(b), escape_display_quoted(missing)));
    merges_[key(ia->second, ib->second)] = {static_cast<std::int32_t>(rank), im->second};
  }
}

std::optional<std::int32_t> BpeModel::find(std::string_view piece) const {
  const auto it = vocab_.find(std::string(piece));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<WordToken>& symbols) const {
  if (options_.byte_level) {
    for (std::uint32_t i = 0; i < word.size(); ++i) {
      const std::int32_t id = byte_ids_[static_cast<unsigned char>(word[i])];
      if (id < 0)
        throw Error(
            ErrorKind::Format, source_,
            fmt::format("byte-level vocabulary has no token for byte 0x{:02X}", static_cast<unsigned char>(word[i])));
      symbols.push_back({id, i, i + 1});
    }
    return;
  }
  std::optional<WordToken> unk;
  std::string piece;
  for (std::uint32_t i = 0; i < word.size();) {
    const auto len =
        static_cast<std::uint32_t>(std::min(utf8_length(static_cast<unsigned char>(word[i])), word.size() - i));
    const bool first = i == 0, last = i + len == word.size();
    piece.clear();
    if (!first) piece += options_.continuing_subword_prefix;
    piece.append(word.substr(i, len));
    if (last) piece += options_.end_of_word_suffix;
    if (const auto it = vocab_.find(piece); it != vocab_.end()) {
      if (unk) symbols.push_back(*unk), unk.reset();
      symbols.push_back({it->second, i, i + len});
    } else {
      bool fell_back = false;
      if (options_.byte_fallback) {
        fell_back = true;
        for (char c : piece) fell_back = fell_back && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        // Each byte token covers its own byte (the character's last one for affix bytes).
        for (std::uint32_t k = 0; fell_back && k < piece.size(); ++k) {
          const std::uint32_t at = std::min(i + k, i + len - 1);
          symbols.push_back({byte_ids_[static_cast<unsigned char>(piece[k])], at, at + 1});
        }
      }
      if (!fell_back && options_.unk_token) {
        const auto u = vocab_.find(*options_.unk_token);
        if (u == vocab_.end())
          throw Error(ErrorKind::Format, source_,
                      fmt::format("unk token {} is not in the vocabulary", escape_display_quoted(*options_.unk_token)));
        if (unk && options_.fuse_unk) {
          unk->end = i + len;
        } else {
          if (unk) symbols.push_back(*unk);
          unk = WordToken{u->second, i, i + len};
        }
      }
    }
    i += len;
  }
  if (unk) symbols.push_back(*unk);
}

void BpeModel::merge(std::vector<WordToken>& symbols) const {
  const auto n = static_cast<std::int32_t>(symbols.size());
  if (n < 2) return;
  std::vector<std::int32_t> prev(static_cast<std::size_t>(n)), next(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) {
    prev[static_cast<std::size_t>(i)] = i - 1;
    next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    std::int32_t rank, pos, id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](std::int32_t pos) {
    const std::int32_t nx = next[static_cast<std::size_t>(pos)];
    if (nx < 0) return;
    const auto it =
        merges_.find(key(symbols[static_cast<std::size_t>(pos)].id, symbols[static_cast<std::size_t>(nx)].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> gone(static_cast<std::size_t>(n), false);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const auto pos = static_cast<std::size_t>(top.pos);
    if (gone[pos]) continue;
    const std::int32_t nx = next[pos];
    if (nx < 0) continue;
    WordToken& left = symbols[pos];
    const WordToken& right = symbols[static_cast<std::size_t>(nx)];
    const auto it = merges_.find(key(left.id, right.id));
    if (it == merges_.end() || it->second.id != top.id) continue;
    left.id = top.id;
    left.end = right.end;
    gone[static_cast<std::size_t>(nx)] = true;
    next[pos] = next[static_cast<std::size_t>(nx)];
    if (next[pos] >= 0) prev[static_cast<std::size_t>(next[pos])] = top.pos;
    if (prev[pos] >= 0) consider(prev[pos]);
    consider(top.pos);
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < symbols.size(); ++i)
    if (!gone[i]) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

void BpeModel::encode_word(std::string_view word, std::vector<WordToken>& out) const {
  if (word.empty()) return;
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(std::string(word)); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<WordToken> symbols;
  if (options_.ignore_merges) {
    const auto it = vocab_.find(options_.byte_level ? encode_byte_level(word) : std::string(word));
    if (it != vocab_.end()) symbols.push_back({it->second, 0, static_cast<std::uint32_t>(word.size())});
  }
  if (symbols.empty()) {
    initial_symbols(word, symbols);
    merge(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < kMaxCachedWords) cache_.emplace(std::string(word), std::move(symbols));
  }
}

}  // namespace embstat
