# End-to-end tests of `embstat sample`, `embstat neighbors` and the main job (cli/verb_sample.cpp,
# cli/verb_neighbors.cpp, cli/main_job.cpp).
#
# Exit status + output checks run through pairs.cmake's script runner. This file, run as a script,
# checks that two commands print the same CSV table once the first field (the file name) is cut:
#   cmake "-DCMD=exe;arg;..." "-DCMD2=exe;arg;..." -P sample.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  execute_process(COMMAND ${CMD2} RESULT_VARIABLE rc2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2)
  if(NOT rc EQUAL 0 OR NOT rc2 EQUAL 0)
    message(FATAL_ERROR "exit status ${rc} / ${rc2}\n${err}\n${err2}")
  endif()
  # (no '^' in the pattern: CMake's REPLACE would match it again at every search position)
  string(REGEX REPLACE "\n[^,\n]*," "\n" a "\n${out}")
  string(REGEX REPLACE "\n[^,\n]*," "\n" b "\n${out2}")
  if(NOT a STREQUAL b OR a STREQUAL "")
    message(FATAL_ERROR "the two tables differ:\n${out}\n---\n${out2}")
  endif()
  return()
endif()

set(_sample_script ${CMAKE_CURRENT_LIST_FILE})
function(sample_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}"
    -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
endfunction()

# Usage and input errors (no data needed).
sample_e2e(sample.no_model 2 "MODEL is required" "${EMBSTAT_EXE};sample")
sample_e2e(sample.bad_sort 2 "--sort: foo not in" "${EMBSTAT_EXE};sample;x.npy;--sort;foo")
sample_e2e(sample.targets_and_samples 2 "excludes" "${EMBSTAT_EXE};sample;x.npy;--targets;1;--samples;3")
sample_e2e(sample.missing_file 3 "embstat: .*no-such-model.npy" "${EMBSTAT_EXE};sample;no-such-model.npy")
sample_e2e(neighbors.no_token 2 "TOKEN is required" "${EMBSTAT_EXE};neighbors;x.npy")

# The main job with empty caches: says where it looked, then the control on Qwen3-0.6B's shape.
set(_empty_home ${CMAKE_CURRENT_BINARY_DIR}/e2e_empty_home)
file(MAKE_DIRECTORY ${_empty_home})
add_test(NAME e2e.main_job.no_models COMMAND ${CMAKE_COMMAND} -E env HOME=${_empty_home}
  HF_HOME=${_empty_home}/hf HF_HUB_CACHE=${_empty_home}/hf/hub XDG_CACHE_HOME=${_empty_home}/.cache
  LLAMA_CACHE=${_empty_home}/llama OLLAMA_MODELS=${_empty_home}/ollama LMSTUDIO_MODELS=${_empty_home}/lmstudio
  ${EMBSTAT_EXE} -q)
set_tests_properties(e2e.main_job.no_models PROPERTIES PASS_REGULAR_EXPRESSION
  "Looked in:\n  [^\n]*e2e_empty_home/hf/hub  \\(absent\\)\n.*e2e_empty_home/ollama  \\(absent\\)\n  [^\n]*e2e_empty_home/lmstudio  \\(absent\\)\nNo models found there\\..*random N\\(0,1\\) 151936×1024 +151936 +1024 +50 .* 0\\.5[0-9]+ ±0\\.00[0-9]+\n")

set(_data ${EMBSTAT_SHARED_DATA})
set(_stories ${_data}/stories260K/stories260K.gguf)
if(EXISTS ${_stories})
  # stories260K: 512 rows x 64. Targets drawn with seed 0; the numbers below agree with numpy in
  # double precision on the same targets (rows exported with `embstat export`).
  add_test(NAME e2e.sample.markdown COMMAND ${EMBSTAT_EXE} -q sample ${_stories} --format markdown)
  set_tests_properties(e2e.sample.markdown PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^\\| Model \\| Min \\| Max \\| Mean \\| Median \\| Non-negative pairs \\| Negative pairs \\| Percentage of positive entries \\|\n\\|[-:|]+\n\\| stories260K.gguf \\| -0.38 \\| 0.76 \\| 0.29 \\| 0.50 \\| 346.06 \\| 164.94 \\| 0.6772 \\|\n$")
  add_test(NAME e2e.sample.text COMMAND ${EMBSTAT_EXE} -q sample ${_stories} --baseline)
  set_tests_properties(e2e.sample.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "Model +Rows +Dim +Targets +Min +Max +Mean +Median +Cos ≥ 0 +Cos < 0 +Fraction ≥ 0\n.*stories260K.gguf +512 +64 +50 +-0.38 ±0.[0-9][0-9] .* 0.6772 ±0.2042\nrandom N\\(0,1\\) 512×64 +512 +64 +50 .* 0.4[0-9]+ ±0.0[0-9]+\n.*seed 0")
  add_test(NAME e2e.sample.json COMMAND ${EMBSTAT_EXE} -q sample ${_stories} --format json)
  set_tests_properties(e2e.sample.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^{\n  \"models\": \\[\n    {\n      \"model\": \"stories260K.gguf\",\n      \"rows\": 512,\n      \"dim\": 64,\n      \"targets\": \\[\n        62,\n        172,.*\"fraction_non_negative\": 0.677221135029354[0-9]*,\n      \"per_target\": \\[\n        {\n          \"id\": 62,\n          \"text\": \"[^\"]*\",\n          \"min\": .*\"non_negative\": [0-9]+,\n          \"negative\": [0-9]+\n        }.*\"std\": {.*\"rows_used\": 512,.*\"seed\": 0,\n  \"embstat\": {\n    \"version\": \"[0-9.]+\",\n    \"command\": \"sample\"\n  }\n}")
  add_test(NAME e2e.sample.csv_baseline_sorted COMMAND ${EMBSTAT_EXE} -q sample ${_stories}
    ${_data}/gguf-quant/emb64x512-q4_0.gguf --sort name --baseline --format csv)
  set_tests_properties(e2e.sample.csv_baseline_sorted PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^model,baseline,rows,rows_used,dim,targets,min,min_std,.*fraction_non_negative_std\nemb64x512-q4_0.gguf,false,512,512,64,50,[^\n]*\nstories260K.gguf,false,512,512,64,50,[^\n]*\n\"random N\\(0,1\\) 512×64\",true,512,512,64,50,[^\n]*\n$")
  # Same f32 matrix through two readers (GGUF, llama2.c): the same numbers.
  add_test(NAME e2e.sample.same_across_formats COMMAND ${CMAKE_COMMAND}
    "-DCMD=${EMBSTAT_EXE};-q;sample;${_stories};--targets;0-9,300,511;--format;csv"
    "-DCMD2=${EMBSTAT_EXE};-q;sample;${_data}/stories260K/stories260K.bin;--targets;0-9,300,511;--format;csv"
    -P ${_sample_script})
  set_tests_properties(e2e.sample.same_across_formats PROPERTIES LABELS data)
  sample_e2e(sample.target_out_of_range 2 "stories260K.gguf: target row 600 is out of range"
    "${EMBSTAT_EXE};-q;sample;${_stories};--targets;600")
  sample_e2e(sample.targets_twice 2 "lists row 3 twice" "${EMBSTAT_EXE};-q;sample;${_stories};--targets;1-4,3")
  # q4_0 quantisation makes the ~239 near-identical rows bit-identical: --dedup merges them.
  sample_e2e(sample.dedup 0 "emb64x512-q4_0.gguf +345 +64 +50 .*excluded 167 duplicate rows merged; 345 of 512 rows used"
    "${EMBSTAT_EXE};-q;sample;${_data}/gguf-quant/emb64x512-q4_0.gguf;--dedup")

  add_test(NAME e2e.neighbors.text COMMAND ${EMBSTAT_EXE} -q neighbors ${_stories} 300 --top 3)
  set_tests_properties(e2e.neighbors.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "Token 300 \" ha\": cosine to the 511 other rows.*Most similar\nRank +Id +Cos +Token\n[─ ]+\n +1 +259 +0.4569 +t\n.*Most dissimilar\n.*\n.*\n +1 +288 +-0.2277 +im\n +2 +299 +-0.2266 +ing\n +3 +")
  # TOKEN as text: the decoded text " ha" and the SentencePiece piece "▁ha" both find id 300.
  sample_e2e(neighbors.by_text 0 "Token 300 \" ha\"" "${EMBSTAT_EXE};-q;neighbors;${_stories}; ha;--top;1")
  sample_e2e(neighbors.by_piece 0 "Token 300 \" ha\"" "${EMBSTAT_EXE};-q;neighbors;${_stories};▁ha;--top;1")
  sample_e2e(neighbors.unknown_text 2 "no token of stories260K.gguf is spelled 'zzzqqq'"
    "${EMBSTAT_EXE};-q;neighbors;${_stories};zzzqqq")
  sample_e2e(neighbors.id_out_of_range 2 "token id 512 is out of range" "${EMBSTAT_EXE};-q;neighbors;${_stories};512")
  add_test(NAME e2e.neighbors.negative COMMAND ${EMBSTAT_EXE} -q neighbors ${_stories} 300 --negative)
  set_tests_properties(e2e.neighbors.negative PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "342 of 511 other rows have cosine < 0 \\(66.93 %\\), in 66 runs\n\nIds +Count +Text\n[─ ]+\n0 +1 +<unk>\n2–12 +11 +</s>.x00")
  add_test(NAME e2e.neighbors.negative_json COMMAND ${EMBSTAT_EXE} -q neighbors ${_stories} 300 --negative --format json)
  set_tests_properties(e2e.neighbors.negative_json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^{\"token\":{\"id\":300,\"text\":\" ha\"},\"ids\":\\[0,2,3,4,.*\\],\"tokens\":\\[{\"id\":0,\"text\":\"<unk>\",\"cos\":-[0-9.e-]+},.*\"ranges\":\\[{\"first\":0,\"last\":0,\"count\":1,\"text\":\"<unk>\"},{\"first\":2,\"last\":12,\"count\":11,")
else()
  add_test(NAME e2e.sample.data_absent COMMAND ${CMAKE_COMMAND} -E echo "SKIP: ${_data} absent: sample/neighbors data tests not run")
  set_tests_properties(e2e.sample.data_absent PROPERTIES SKIP_REGULAR_EXPRESSION "SKIP:")
endif()

# Scale-free numbers at extreme scales (powers of two from 2^-100 to 2^100, and one row of 3e38)
# for sample, pairs and geometry on bf16 and f32 safetensors files written by the script.
find_program(EMBSTAT_PYTHON3 python3)
if(EMBSTAT_PYTHON3)
  add_test(NAME e2e.extreme_scale COMMAND ${EMBSTAT_PYTHON3} ${EMBSTAT_E2E_DIR}/extreme_scale.py ${EMBSTAT_EXE}
           ${CMAKE_CURRENT_BINARY_DIR}/extreme-scale-e2e)
  set_tests_properties(e2e.extreme_scale PROPERTIES TIMEOUT 300)
else()
  add_test(NAME e2e.extreme_scale COMMAND sh -c "echo 'SKIP: python3 is not installed'; exit 77")
  set_tests_properties(e2e.extreme_scale PROPERTIES SKIP_RETURN_CODE 77)
endif()
