// Helpers shared by the format readers: small text files, JSON with located errors, paths,
// and the one policy for attaching a vocabulary to a Model.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/formats/model.hpp"

namespace embstat {

// The whole file as a string; Error(Io) if unreadable, Error(Format) if larger than max_bytes.
std::string read_text_file(const std::string& path, std::uint64_t max_bytes);

// Parses JSON text; a syntax error becomes Error(Format) naming `path` and the file offset
// (base_offset + position in `text`) with nlohmann's reason.
nlohmann::json parse_json(std::string_view text, const std::string& path, std::uint64_t base_offset = 0);

// Path pieces (no filesystem access): "a/b/c.bin" -> "c.bin", "a/b"; "a/b/" -> "b", "a".
std::string path_file_name(const std::string& path);
std::string path_parent(const std::string& path);
std::string path_join(const std::string& dir, const std::string& name);
bool is_regular_file(const std::string& path);  // follows symlinks
bool is_directory(const std::string& path);
// Entry names of a folder, sorted; empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& dir);
// True when following `path`'s symlinks never ends (a link to itself, two links to each other, ...).
bool is_symlink_loop(const std::string& path);

// Loads a vocabulary with the shared policy and records `tokenizer_path` in model.files:
//   - Error(Format) from `load` (a corrupt tokenizer file) is rethrown: fatal;
//   - Error(Io / Unsupported) becomes a note ("tokenizer.json: ...; rows are unnamed").
// Adds a note when the vocabulary has more tokens than the matrix has rows.
void attach_vocabulary(Model& model, const std::string& tokenizer_path, const std::function<Vocabulary()>& load);

// tokenizer.json in `folder` -> load_tokenizer_json with the policy above. Without one, a note
// says which other tokenizer files were seen (tokenizer.model, vocab.json) and that rows are
// unnamed.
void attach_tokenizer_json(Model& model, const std::string& folder);

}  // namespace embstat
