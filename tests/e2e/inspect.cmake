# End-to-end tests of `embstat inspect`, `embstat vocab` and `embstat export`
# (cli/verb_inspect.cpp, cli/verb_vocab.cpp, cli/verb_export.cpp) and of open_model's errors.
# Exit status + output are checked by pairs.cmake's script runner (inspect_e2e below).

function(inspect_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}"
    -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
endfunction()

# Hostile and unsupported inputs, written here (text only: CMake cannot write NUL bytes).
set(_bad ${CMAKE_CURRENT_BINARY_DIR}/e2e_formats_bad)
file(MAKE_DIRECTORY ${_bad}/torch_folder ${_bad}/empty_folder ${_bad}/hf/hub)
file(WRITE ${_bad}/garbage.safetensors "hello world, this is not a safetensors file")
file(WRITE ${_bad}/garbage.bin "a text file posing as a llama2.c checkpoint, long enough")
file(WRITE ${_bad}/garbage.npy "not an npy file")
file(WRITE ${_bad}/notes.txt "hello")
string(ASCII 80 75 3 4 _zip_magic)
file(WRITE ${_bad}/pytorch_model.bin "${_zip_magic}archive/data.pkl")
file(WRITE ${_bad}/torch_folder/pytorch_model.bin "${_zip_magic}archive/data.pkl")

inspect_e2e(formats.missing_file 3 "embstat: [^\n]*no-such-model.safetensors: no such file or folder"
  "${EMBSTAT_EXE};inspect;no-such-model.safetensors")
inspect_e2e(formats.garbage_safetensors 4
  "garbage.safetensors: offset 0: header length [0-9]+ is over the 100000000-byte limit\n$"
  "${EMBSTAT_EXE};inspect;${_bad}/garbage.safetensors")
inspect_e2e(formats.garbage_llama2c 4 "garbage.bin: offset 0: not a llama2.c checkpoint"
  "${EMBSTAT_EXE};inspect;${_bad}/garbage.bin")
inspect_e2e(formats.garbage_npy 4 "garbage.npy: offset 0: not a .npy file"
  "${EMBSTAT_EXE};export;${_bad}/garbage.npy;-o;${_bad}/out.npy")
inspect_e2e(formats.unrecognised 5 "notes.txt: unrecognised file" "${EMBSTAT_EXE};vocab;${_bad}/notes.txt")
inspect_e2e(formats.pytorch_pickle 5 "pytorch_model.bin: a PyTorch checkpoint \\(pickle\\): [^\n]*safetensors"
  "${EMBSTAT_EXE};inspect;${_bad}/pytorch_model.bin")
inspect_e2e(formats.pytorch_folder 5 "torch_folder: holds only PyTorch pickles \\(pytorch_model.bin\\)"
  "${EMBSTAT_EXE};inspect;${_bad}/torch_folder")
inspect_e2e(formats.empty_folder 3 "empty_folder: no model weights here" "${EMBSTAT_EXE};inspect;${_bad}/empty_folder")
inspect_e2e(formats.export_needs_npy 2 "name the output FILE.npy" "${EMBSTAT_EXE};export;x.gguf;-o;x.csv")
add_test(NAME e2e.formats.hub_id_not_cached COMMAND ${CMAKE_COMMAND} -E env HOME=${_bad} HF_HUB_CACHE=${_bad}/hf/hub
  ${CMAKE_COMMAND} "-DCMD=${EMBSTAT_EXE};inspect;acme/not-cached" -DRC=3
  "-DEXPECT=acme/not-cached: no such file or folder, and not in the local Hugging Face cache \\(looked in [^\n]*e2e_formats_bad/hf/hub"
  -P ${EMBSTAT_E2E_DIR}/pairs.cmake)

set(_data ${EMBSTAT_SHARED_DATA})
set(_stories_dir ${_data}/stories260K)
if(EXISTS ${_stories_dir}/stories260K.bin)
  set(_bin ${_stories_dir}/stories260K.bin)
  add_test(NAME e2e.inspect.llama2c COMMAND ${EMBSTAT_EXE} inspect ${_bin})
  set_tests_properties(e2e.inspect.llama2c PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "format +llama2c\nfiles +[^\n]*stories260K.bin\n +[^\n]*tok512.bin\ntensor +tok_embeddings.weight\nshape +512 rows × 64 dim[^\n]*\ndtype +F32\nbytes +131,072 bytes \\(128.0 KiB\\) at offset 28\ntied +yes[^\n]*\n.*tokenizer +llama2c, 512 tokens\npadding rows +0\nzero rows +0\nfirst tokens +0 \"<unk>\"  1 \"\\\\n<s>\\\\n\"")

  add_test(NAME e2e.inspect.json COMMAND ${EMBSTAT_EXE} inspect ${_bin} --format json)
  set_tests_properties(e2e.inspect.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"files\": \\[\n +\"[^\"]*stories260K.bin\",\n +\"[^\"]*tok512.bin\"\n +\\],\n +\"tensor\": \"tok_embeddings.weight\",.*\"dtype\": \"F32\",.*\"rows\": 512,\n +\"dim\": 64,\n +\"tied\": true,.*\"tokenizer\": \"llama2c\",\n +\"vocab_size\": 512,\n +\"padding_rows\": 0,\n +\"zero_rows\": 0,")

  inspect_e2e(inspect.q80 0 "dtype +I8\n.*int8 with one f32 scale per 32 values"
    "${EMBSTAT_EXE};inspect;${_stories_dir}/stories260K_q80.bin")
  inspect_e2e(inspect.bad_tensor 2 "stories260K.bin: no tensor named 'nope' \\(2-D tensors: tok_embeddings.weight \\[512, 64\\]\\)"
    "${EMBSTAT_EXE};inspect;${_bin};--tensor;nope")

  add_test(NAME e2e.vocab.json COMMAND ${EMBSTAT_EXE} vocab ${_bin} --ids 0-1,300 --format json)
  set_tests_properties(e2e.vocab.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"tokens\":\\[{\"id\":0,\"text\":\"<unk>\",\"display\":\"<unk>\"},{\"id\":1,\"text\":\"\\\\n<s>\\\\n\",\"display\":\"\\\\\\\\n<s>\\\\\\\\n\"},{\"id\":300,\"text\":\" ha\",\"display\":\" ha\"}\\],\"embstat\":{\"version\":\"[0-9.]+\",\"command\":\"vocab\"}}")
  add_test(NAME e2e.vocab.text COMMAND ${EMBSTAT_EXE} vocab ${_bin} --ids 0-2,300)
  set_tests_properties(e2e.vocab.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^  0  \"<unk>\"\n  1  \"\\\\n<s>\\\\n\"\n  2  \"\\\\n</s>\\\\n\"\n300  \" ha\"\n$")
  inspect_e2e(vocab.id_out_of_range 2 "id 512 is out of range: stories260K.bin has ids 0–511"
    "${EMBSTAT_EXE};vocab;${_bin};--ids;512")

  # export -> .npy, then inspect what was written (the round trip through the npy reader).
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/e2e_formats_out)
  file(MAKE_DIRECTORY ${_out})
  inspect_e2e(export.llama2c 0 "wrote [^\n]*stories260K.npy: 512 × 64 float32 from 'tok_embeddings.weight' of stories260K.bin"
    "${EMBSTAT_EXE};export;${_bin};-o;${_out}/stories260K.npy")
  set_tests_properties(e2e.export.llama2c PROPERTIES LABELS data FIXTURES_SETUP stories_npy)
  add_test(NAME e2e.inspect.npy COMMAND ${EMBSTAT_EXE} inspect ${_out}/stories260K.npy)
  set_tests_properties(e2e.inspect.npy PROPERTIES LABELS data FIXTURES_REQUIRED stories_npy PASS_REGULAR_EXPRESSION
    "format +npy\n.*tensor +array\nshape +512 rows × 64 dim \\(stored as \\[512, 64\\]\\)\ndtype +F32\nbytes +131,072 bytes \\(128.0 KiB\\) at offset 128")
  inspect_e2e(export.tied_output 0 "tied \\(no output tensor in the file\\)|tied \\(config tie_word_embeddings\\)"
    "${EMBSTAT_EXE};export;${_bin};--matrix;output;-o;${_out}/stories260K-output.npy")
  set_tests_properties(e2e.export.tied_output PROPERTIES LABELS data)

  # A fake Hugging Face cache whose snapshot links to the real GGUF: a hub id resolves offline.
  set(_repo ${CMAKE_CURRENT_BINARY_DIR}/e2e_formats_hf/hub/models--karpathy--stories260K)
  file(MAKE_DIRECTORY ${_repo}/snapshots/r1 ${_repo}/refs)
  file(WRITE ${_repo}/refs/main "r1")
  if(NOT EXISTS ${_repo}/snapshots/r1/stories260K.gguf)
    file(CREATE_LINK ${_stories_dir}/stories260K.gguf ${_repo}/snapshots/r1/stories260K.gguf SYMBOLIC)
  endif()
  add_test(NAME e2e.inspect.hub_id COMMAND ${CMAKE_COMMAND} -E env
    HF_HUB_CACHE=${CMAKE_CURRENT_BINARY_DIR}/e2e_formats_hf/hub ${EMBSTAT_EXE} inspect karpathy/stories260K)
  set_tests_properties(e2e.inspect.hub_id PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "model +karpathy/stories260K\nformat +gguf\nfiles +[^\n]*models--karpathy--stories260K/snapshots/r1/stories260K.gguf\n")
endif()

set(_samples ${_data}/safetensors-samples)
if(EXISTS ${_samples}/overall.safetensors)
  inspect_e2e(inspect.safetensors_f16 0 "tensor +e\nshape +1 row × 6 dim \\(stored as \\[6\\]\\)\ndtype +F16\n"
    "${EMBSTAT_EXE};inspect;${_samples}/overall.safetensors;--tensor;e")
  inspect_e2e(inspect.safetensors_no_embedding 4 "overall.safetensors: no token embedding tensor found"
    "${EMBSTAT_EXE};export;${_samples}/overall.safetensors;-o;${CMAKE_CURRENT_BINARY_DIR}/never.npy")
  set_tests_properties(e2e.inspect.safetensors_f16 e2e.inspect.safetensors_no_embedding PROPERTIES LABELS data)
endif()

set(_gpt2_vocab ${_data}/vocab-gguf/ggml-vocab-gpt-2.gguf)
if(EXISTS ${_gpt2_vocab})
  add_test(NAME e2e.vocab.vocab_only_gguf COMMAND ${EMBSTAT_EXE} vocab ${_gpt2_vocab} --ids 0,50256)
  set_tests_properties(e2e.vocab.vocab_only_gguf PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^    0  \"!\"\n50256  \"<\\\\|endoftext\\\\|>\"\n$")
endif()

# A bare tokenizer.json: `vocab` reads it, the analyses say it holds no matrix.
if(EXISTS ${EMBSTAT_SHARED_DATA}/tokenizers/qwen3/tokenizer.json)
  add_test(NAME e2e.vocab.bare_tokenizer_json
           COMMAND ${EMBSTAT_EXE} vocab ${EMBSTAT_SHARED_DATA}/tokenizers/qwen3/tokenizer.json --ids 0,151643)
  set_tests_properties(e2e.vocab.bare_tokenizer_json PROPERTIES
                       PASS_REGULAR_EXPRESSION "0  \"!\".*151643  \"<\\|endoftext\\|>\"")
  add_test(NAME e2e.sample.tokenizer_json_has_no_matrix
           COMMAND ${EMBSTAT_EXE} sample ${EMBSTAT_SHARED_DATA}/tokenizers/qwen3/tokenizer.json)
  set_tests_properties(e2e.sample.tokenizer_json_has_no_matrix PROPERTIES WILL_FAIL TRUE)
endif()
