// tokenizer.json pre-tokenizers (see pre_tokenizer.hpp), following the Hugging Face tokenizers
// crate: a pattern's matches and the text between them become parts, then the behaviour says
// which parts are kept and which are merged with a neighbour.
#include "embstat/vocab/pre_tokenizer.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "embstat/base/error.hpp"
#include "embstat/vocab/json_fields.hpp"
#include "embstat/vocab/unicode_regex.hpp"

namespace embstat {

namespace {

// GPT-2's pattern, which ByteLevel applies when use_regex is on.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kMetaspace = "\xE2\x96\x81";

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(std::string_view name, const std::string& source) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw Error(ErrorKind::Unsupported, source, fmt::format("Split behavior {} is not supported", name));
}

struct Part {
  std::size_t b, e;
  bool match;
};

// Splits one piece by a pattern's matches (tokenizers' NormalizedString::split).
void split_piece(const NormalizedText& piece, const UnicodeRegex& regex, Behavior behavior, bool invert,
                 std::vector<NormalizedText>& out) {
  std::vector<Part> parts;
  std::size_t at = 0;
  regex.for_each_match(piece.text, [&](std::size_t b, std::size_t e) {
    if (b > at) parts.push_back({at, b, invert});
    parts.push_back({b, e, !invert});
    at = e;
  });
  if (at < piece.size()) parts.push_back({at, piece.size(), invert});

  std::vector<Part> kept;
  kept.reserve(parts.size());
  switch (behavior) {
    case Behavior::Isolated:
      kept = std::move(parts);
      break;
    case Behavior::Removed:
      for (const Part& p : parts)
        if (!p.match) kept.push_back(p);
      break;
    case Behavior::Contiguous: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.match && previous_match)
          kept.back().e = p.e;
        else
          kept.push_back(p);
        previous_match = p.match;
      }
      break;
    }
    case Behavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.match && !previous_match && !kept.empty())
          kept.back().e = p.e;
        else
          kept.push_back(p);
        previous_match = p.match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool previous_match = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous_match && !kept.empty())
          kept.back().b = it->b;
        else
          kept.push_back(*it);
        previous_match = it->match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  if (kept.size() == 1 && kept[0].b == 0 && kept[0].e == piece.size()) {
    out.push_back(piece);
    return;
  }
  for (const Part& p : kept)
    if (p.e > p.b) out.push_back(piece.slice(p.b, p.e));
}

class SplitBy final : public PreTokenizer {
 public:
  SplitBy(std::string_view pattern, bool literal, Behavior behavior, bool invert, const std::string& source)
      : regex_(pattern, literal, source), behavior_(behavior), invert_(invert) {}
  void split(std::vector<NormalizedText>& pieces) const override {
    std::vector<NormalizedText> out;
    out.reserve(pieces.size());
    for (const NormalizedText& p : pieces) split_piece(p, regex_, behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  UnicodeRegex regex_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& source) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<SplitBy>(kGpt2Pattern, false, Behavior::Isolated, false, source);
  }
  void split(std::vector<NormalizedText>& pieces) const override {
    if (add_prefix_space_)
      for (NormalizedText& p : pieces)
        if (!p.empty() && p.text[0] != ' ') {
          NormalizedText spaced;
          spaced.append(" ", p.start[0], p.start[0]);
          spaced.append(p, 0, p.size());
          p = std::move(spaced);
        }
    if (regex_) regex_->split(pieces);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<SplitBy> regex_;
};

class Metaspace final : public PreTokenizer {
 public:
  enum class Prepend { Always, First, Never };
  Metaspace(std::string replacement, Prepend prepend, bool split, const std::string& source)
      : replacement_(std::move(replacement)), prepend_(prepend) {
    if (split) splitter_ = std::make_unique<SplitBy>(replacement_, true, Behavior::MergedWithNext, false, source);
  }
  void split(std::vector<NormalizedText>& pieces) const override {
    for (NormalizedText& p : pieces) {
      NormalizedText out;
      const bool starts_at_text_start = !p.empty() && p.start[0] == 0;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (p.text[i] == ' ')
          out.append(replacement_, p.start[i], p.end[i]);
        else
          out.append(p, i, i + 1);
      }
      const bool prepend = prepend_ == Prepend::Always || (prepend_ == Prepend::First && starts_at_text_start);
      if (prepend && !out.empty() && out.text.compare(0, replacement_.size(), replacement_) != 0) {
        NormalizedText prefixed;
        prefixed.append(replacement_, out.start[0], out.start[0]);
        prefixed.append(out, 0, out.size());
        out = std::move(prefixed);
      }
      p = std::move(out);
    }
    if (splitter_) splitter_->split(pieces);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  std::unique_ptr<SplitBy> splitter_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> members) : members_(std::move(members)) {}
  void split(std::vector<NormalizedText>& pieces) const override {
    for (const auto& m : members_) m->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> members_;
};

}  // namespace

std::unique_ptr<PreTokenizer> PreTokenizer::parse(const simdjson::dom::element& e, const std::string& source,
                                                  bool& byte_level) {
  using json_fields::boolean;
  using json_fields::string;
  const std::string_view type = json_fields::type_of(e, source, "pre_tokenizer");
  if (byte_level)
    throw Error(ErrorKind::Unsupported, source,
                fmt::format("pre-tokenizer {} after ByteLevel is not supported for encoding", type));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> members;
    simdjson::dom::array list;
    if (e["pretokenizers"].get_array().get(list) != simdjson::SUCCESS)
      throw Error(ErrorKind::Format, source, "pre_tokenizer Sequence has no pretokenizers list");
    for (simdjson::dom::element m : list) members.push_back(parse(m, source, byte_level));
    return std::make_unique<Sequence>(std::move(members));
  }
  if (type == "Split") {
    const auto pattern = json_fields::pattern(e, source, "pre_tokenizer Split");
    const auto behavior = parse_behavior(string(e, "behavior", source, "Split").value_or("Isolated"), source);
    return std::make_unique<SplitBy>(pattern.text, !pattern.regex, behavior,
                                     boolean(e, "invert", source, "Split").value_or(false), source);
  }
  if (type == "ByteLevel") {
    byte_level = true;
    return std::make_unique<ByteLevel>(boolean(e, "add_prefix_space", source, "ByteLevel").value_or(true),
                                       boolean(e, "use_regex", source, "ByteLevel").value_or(true), source);
  }
  if (type == "Digits") {
    const bool individual = boolean(e, "individual_digits", source, "Digits").value_or(false);
    return std::make_unique<SplitBy>(R"(\p{N})", false, individual ? Behavior::Isolated : Behavior::Contiguous, false,
                                     source);
  }
  if (type == "Whitespace") return std::make_unique<SplitBy>(R"(\w+|[^\w\s]+)", false, Behavior::Removed, true, source);
  if (type == "WhitespaceSplit") return std::make_unique<SplitBy>(R"(\s)", false, Behavior::Removed, false, source);
  if (type == "Metaspace") {
    std::string replacement(string(e, "replacement", source, "Metaspace").value_or(kMetaspace));
    if (replacement.empty()) replacement = kMetaspace;
    Metaspace::Prepend prepend = Metaspace::Prepend::Always;
    if (auto scheme = string(e, "prepend_scheme", source, "Metaspace")) {
      if (*scheme == "first")
        prepend = Metaspace::Prepend::First;
      else if (*scheme == "never")
        prepend = Metaspace::Prepend::Never;
    } else if (auto add = boolean(e, "add_prefix_space", source, "Metaspace"); add && !*add) {
      prepend = Metaspace::Prepend::Never;
    }
    return std::make_unique<Metaspace>(std::move(replacement), prepend,
                                       boolean(e, "split", source, "Metaspace").value_or(true), source);
  }
  throw Error(ErrorKind::Unsupported, source, fmt::format("pre-tokenizer {} is not supported for encoding", type));
}

}  // namespace embstat
