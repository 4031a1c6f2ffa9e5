# End-to-end tests of `embstat tokenize` (cli/verb_tokenize.cpp); exact ids against the
# reference implementations are in tests/tokenize/.
set(_tok_bad ${CMAKE_CURRENT_BINARY_DIR}/e2e_tokenize)
file(MAKE_DIRECTORY ${_tok_bad}/no_tokenizer)
string(ASCII 195 40 _bad_utf8)
file(WRITE ${_tok_bad}/bad_utf8.txt "ok${_bad_utf8} after")
set(_qwen3 ${EMBSTAT_SHARED_DATA}/tokenizers/qwen3)

pairs_e2e(tokenize.needs_text 2 "give the text with --text STR or --file FILE" "${EMBSTAT_EXE};tokenize;${_qwen3}")
pairs_e2e(tokenize.no_tokenizer_in_folder 3 "no_tokenizer: no tokenizer.json or tokenizer.model here"
  "${EMBSTAT_EXE};tokenize;${_tok_bad}/no_tokenizer;--text;x")
if(EXISTS ${_qwen3}/tokenizer.json)
  # One line per token: id, quoted escaped text, byte range; the summary on stderr.
  pairs_e2e(tokenize.qwen3_text 0
    "^ 9707  \"Hello\"  0-5\n  1879  \" world\"  5-11\n   198  \"\\\\n\"  11-12\n151645  \"<\\\\|im_end\\\\|>\"  12-22\n4 tokens from 22 bytes \\(tokenizer.json BPE \\(byte-level\\)\\)\n$"
    "${EMBSTAT_EXE};tokenize;${_qwen3};--text;Hello world\n<|im_end|>")
  pairs_e2e(tokenize.qwen3_json 0
    "^{\"model\":\"qwen3\",\"tokenizer\":\"[^\"]*tokenizer.json\",\"encoder\":\"tokenizer.json BPE \\(byte-level\\)\",\"ids\":\\[9707,1879\\],\"tokens\":\\[{\"id\":9707,\"text\":\"Hello\",\"start\":0,\"end\":5},{\"id\":1879,\"text\":\" world\",\"start\":5,\"end\":11}\\],\"bos_added\":false,\"eos_added\":false}\n$"
    "${EMBSTAT_EXE};tokenize;${_qwen3};--text;Hello world;--format;json")
  pairs_e2e(tokenize.invalid_utf8 4 "embstat: [^\n]*bad_utf8.txt: offset 2: text is not valid UTF-8\n$"
    "${EMBSTAT_EXE};tokenize;${_qwen3}/tokenizer.json;--file;${_tok_bad}/bad_utf8.txt")
endif()
