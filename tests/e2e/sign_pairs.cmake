# End-to-end tests of the int16 sign pass in the CLI: `pairs --signs-only` (cli/pairs_signs.cpp)
# and `tokens --engine int16|fp32` (cli/verb_tokens.cpp). Exit-status checks run pairs.cmake in
# script mode.
function(sign_pairs_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}"
    -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
endfunction()

sign_pairs_e2e(tokens.bad_engine 2 "--engine" "${EMBSTAT_EXE};tokens;x.npy;--engine;fp16")

set(_stories ${EMBSTAT_SHARED_DATA}/stories260K/stories260K.gguf)
if(EXISTS ${_stories})
  # The same counts as the fp32 engine (e2e.pairs.*): stories260K has no pair with |cos| < 1e-6.
  add_test(NAME e2e.pairs.signs_only COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --signs-only)
  set_tests_properties(e2e.pairs.signs_only PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "stories260K.gguf +512 +130816 +89536 +41280 +0.684442 +0 +0.3111 +[0-9]+\n.*exact signs")
  add_test(NAME e2e.pairs.signs_only_json COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --signs-only --format json)
  set_tests_properties(e2e.pairs.signs_only_json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"pairs\": 130816,.*\"non_negative\": 89536,.*\"negative\": 41280,.*\"uncertain\": 0,.*\"mean\": 0.311.*\"engine\": \"int16\",.*\"rechecked\": [0-9]+")
  add_test(NAME e2e.pairs.signs_only_markdown COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --signs-only --format markdown)
  set_tests_properties(e2e.pairs.signs_only_markdown PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\\| stories260K.gguf \\| 0.31 \\| 89536 \\| 41280 \\| 0.6844 \\|")
  add_test(NAME e2e.pairs.signs_only_csv COMMAND ${EMBSTAT_EXE} -q pairs ${_stories} --signs-only --format csv)
  set_tests_properties(e2e.pairs.signs_only_csv PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^model,rows,rows_used,dim,pairs,non_negative,negative,fraction_non_negative,uncertain,mean,rechecked,double_checked,exact_fallback\nstories260K.gguf,512,512,64,130816,89536,41280,")
  sign_pairs_e2e(pairs.signs_only_histogram 2 "--histogram needs the full pass"
    "${EMBSTAT_EXE};-q;pairs;${_stories};--signs-only;--histogram;h.csv")
  # Both engines give the same per-token counts here (e2e.tokens.text has the default engine).
  add_test(NAME e2e.tokens.engine_fp32 COMMAND ${EMBSTAT_EXE} -q tokens ${_stories} --top 3 --engine fp32)
  set_tests_properties(e2e.tokens.engine_fp32 PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "124 tokens \\(24.22 %\\) are negative-prone.*418 +d +379 +0.7417.*408–433 +26")
  add_test(NAME e2e.tokens.engine_int16 COMMAND ${EMBSTAT_EXE} -q tokens ${_stories} --top 3 --engine int16)
  set_tests_properties(e2e.tokens.engine_int16 PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "124 tokens \\(24.22 %\\) are negative-prone.*418 +d +379 +0.7417.*408–433 +26")
endif()
