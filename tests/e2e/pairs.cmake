# End-to-end tests of `embstat pairs` and `embstat tokens` (cli/verb_pairs.cpp, cli/verb_tokens.cpp).
#
# Included by tests/CMakeLists.txt to add the tests; also run as a script (cmake -P) by the tests
# that check an exit status together with the output, or a file the command wrote:
#   cmake "-DCMD=exe;arg;..." -DRC=<expected exit status> -DEXPECT=<regex on stdout+stderr>
#         [-DFILE=<path> -DFILE_EXPECT=<regex on its content>] -P pairs.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  if(FILE)
    file(REMOVE ${FILE})
  endif()
  execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL RC)
    message(FATAL_ERROR "exit status ${rc}, expected ${RC}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${EXPECT}")
    message(FATAL_ERROR "output does not match '${EXPECT}'\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  if(FILE)
    file(READ ${FILE} content)
    if(NOT content MATCHES "${FILE_EXPECT}")
      message(FATAL_ERROR "${FILE} does not match '${FILE_EXPECT}':\n${content}")
    endif()
  endif()
  return()
endif()

set(_pairs_script ${CMAKE_CURRENT_LIST_FILE})
function(pairs_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}" -P ${_pairs_script})
endfunction()

# Usage and input errors (no data needed).
pairs_e2e(pairs.no_model 2 "MODEL is required" "${EMBSTAT_EXE};pairs")
pairs_e2e(pairs.missing_file 3 "embstat: .*no-such-model.npy" "${EMBSTAT_EXE};pairs;no-such-model.npy")
pairs_e2e(tokens.bad_by 2 "--by" "${EMBSTAT_EXE};tokens;x.npy;--by;median")

# Exact counts where cosines are exactly 0: the +-1 matrix (tests/fixtures/plus_minus_one.hpp,
# 4,603 of 32,640 pairs orthogonal; counts from exact_counts_test.cpp). Every engine gives the
# exact integers (cos = 0 is non-negative) whatever BLAS kernel the machine runs.
set(_pm1 ${CMAKE_CURRENT_BINARY_DIR}/plus_minus_one.npy)
add_test(NAME e2e.exact_counts.fixture COMMAND $<TARGET_FILE:embstat_write_plus_minus_one> ${_pm1})
set_tests_properties(e2e.exact_counts.fixture PROPERTIES FIXTURES_SETUP plus_minus_one)
add_test(NAME e2e.exact_counts.pairs COMMAND ${EMBSTAT_EXE} -q pairs ${_pm1} --format json)
add_test(NAME e2e.exact_counts.pairs_signs_only COMMAND ${EMBSTAT_EXE} -q pairs ${_pm1} --signs-only --format json)
set_tests_properties(e2e.exact_counts.pairs e2e.exact_counts.pairs_signs_only PROPERTIES LABELS numeric
  FIXTURES_REQUIRED plus_minus_one
  PASS_REGULAR_EXPRESSION "\"pairs\": 32640,.*\"non_negative\": 18738,.*\"negative\": 13902,.*\"uncertain\": 4603")
foreach(_engine fp32 int16)
  add_test(NAME e2e.exact_counts.tokens_${_engine} COMMAND ${EMBSTAT_EXE} -q tokens ${_pm1} --engine ${_engine} --format json)
  set_tests_properties(e2e.exact_counts.tokens_${_engine} PROPERTIES LABELS numeric FIXTURES_REQUIRED plus_minus_one
    PASS_REGULAR_EXPRESSION "\"tokens\":\\[{\"id\":0,\"text\":\"\",\"negative\":111,[^}]*},{\"id\":1,\"text\":\"\",\"negative\":101,[^}]*},{\"id\":2,\"text\":\"\",\"negative\":115,")
endforeach()

set(_stories ${EMBSTAT_SHARED_DATA}/stories260K/stories260K.gguf)
if(EXISTS ${_stories})
  # stories260K: 512 rows x 64, 130,816 pairs; numbers cross-checked by tests/unit/analysis/all_pairs_test.cpp.
  add_test(NAME e2e.pairs.text COMMAND ${EMBSTAT_EXE} -q pairs ${_stories})
  set_tests_properties(e2e.pairs.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "stories260K.gguf +512 +130816 +-0.5248 +1.0000 +0.3111 +0.4678 +0.1135 +89536 +41280 +0.684442 +0.*min -0.52482.: 198 .* and 410 .*mean check")
  add_test(NAME e2e.pairs.markdown COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --format markdown)
  set_tests_properties(e2e.pairs.markdown PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\\| Model \\| Min \\| Max \\| Mean \\| Median \\| Non-negative pairs \\| Negative pairs \\| Percentage of positive entries \\|.*\\| stories260K.gguf \\| -0.52 \\| 1.00 \\| 0.31 \\| 0.11 \\| 89536 \\| 41280 \\| 0.6844 \\|")
  add_test(NAME e2e.pairs.json COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} ${_stories} --format json)
  set_tests_properties(e2e.pairs.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"pairs\": 130816,.*\"non_negative\": 89536,.*\"negative\": 41280,.*\"min_pair\": {.*\"ids\": \\[.*198,.*410.*\"quantiles\": {.*\"p1\": .*\"p99\": .*\"uncertain\": 0.*\"pairs\": 130816")
  add_test(NAME e2e.pairs.csv COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --format csv)
  set_tests_properties(e2e.pairs.csv PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^model,rows,rows_used,dim,pairs,non_negative,negative,fraction_non_negative,uncertain,min,min_id_a,min_id_b,max,.*p99\n[^\n]*stories260K.gguf,512,512,64,130816,89536,41280,")
  set(_hist ${CMAKE_CURRENT_BINARY_DIR}/e2e_pairs_histogram.csv)
  add_test(NAME e2e.pairs.histogram COMMAND ${CMAKE_COMMAND}
    "-DCMD=${EMBSTAT_EXE};-q;pairs;${_stories};--histogram;${_hist}" -DRC=0 "-DEXPECT=89536"
    -DFILE=${_hist} "-DFILE_EXPECT=^bin_lo,bin_hi,stories260K.gguf\n-1,-0.99951171875,0\n" -P ${_pairs_script})
  set_tests_properties(e2e.pairs.histogram PROPERTIES LABELS data)
  pairs_e2e(pairs.histogram_unwritable 3 "h.csv: cannot create a file in /nonexistent-dir: No such file or directory"
    "${EMBSTAT_EXE};-q;pairs;${_stories};--histogram;/nonexistent-dir/h.csv")

  add_test(NAME e2e.tokens.text COMMAND ${EMBSTAT_EXE} -q tokens ${_stories} --top 3)
  set_tests_properties(e2e.tokens.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "124 tokens \\(24.22 %\\) are negative-prone.*The 3 tokens most often negative:.*418 +d +379 +0.7417.*408–433 +26")
  add_test(NAME e2e.tokens.json COMMAND ${EMBSTAT_EXE} -q tokens ${_stories} --format json)
  set_tests_properties(e2e.tokens.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^{\"models\":\\[{\"model\":\"stories260K.gguf\",\"rows\":512,\"dim\":64,.*\"tokens\":\\[{\"id\":0,\"text\":\"<unk>\",\"negative\":125,\"mean\":0.53.*\"ranges\":\\[{\"first\":13,\"last\":13,\"count\":1}")
  add_test(NAME e2e.tokens.csv COMMAND ${EMBSTAT_EXE} -q tokens ${_stories} --format csv)
  set_tests_properties(e2e.tokens.csv PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^model,id,text,negative,fraction,mean\nstories260K.gguf,0,<unk>,125,0.244618")
endif()
set(_q4_0 ${EMBSTAT_SHARED_DATA}/gguf-quant/emb64x512-q4_0.gguf)
if(EXISTS ${_q4_0})
  # q4_0 makes 167 of the near-identical rows bit-identical: `tokens --dedup` counts each distinct
  # vector once, says so on stderr and in excluded_rows (as `sample --dedup`).
  pairs_e2e(tokens.dedup 0
    "^{\"models\":\\[{\"model\":\"emb64x512-q4_0.gguf\",\"rows\":512,\"dim\":64,\"rows_used\":345,\"excluded_rows\":{\"padding\":0,\"zero\":0,\"merged\":167,\"non_finite\":0},.*}\nembstat: emb64x512-q4_0.gguf: excluded 167 duplicate rows merged; 345 of 512 rows used\n$"
    "${EMBSTAT_EXE};-q;tokens;${_q4_0};--dedup;--format;json")
endif()
