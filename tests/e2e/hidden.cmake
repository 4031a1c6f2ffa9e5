# End-to-end tests of `embstat hidden` (cli/verb_hidden.cpp) on the real stories260K model.
set(_hidden_ids ${CMAKE_CURRENT_BINARY_DIR}/e2e_hidden_ids.txt)
file(WRITE ${_hidden_ids} "1 403 407 261 378 429 271 302 415 260 500 45 300 12\n")
set(_hidden_bad ${CMAKE_CURRENT_BINARY_DIR}/e2e_hidden_bad_ids.txt)
file(WRITE ${_hidden_bad} "1 999\n")

add_test(NAME e2e.hidden.no_ids COMMAND ${EMBSTAT_EXE} hidden model.gguf)
set_tests_properties(e2e.hidden.no_ids PROPERTIES WILL_FAIL TRUE)

set(_hidden_model ${EMBSTAT_SHARED_DATA}/stories260K/stories260K.gguf)
if(EXISTS ${_hidden_model})
  # 14 positions, 91 pairs: 55 non-negative at layer 0 (the embeddings), 91 after block 3.
  # Short patterns: CMake's backtracking regex gets very slow with many ".*" over long output.
  set(_hidden_json ${EMBSTAT_EXE} -q hidden ${_hidden_model} --ids ${_hidden_ids} --layers 0 --format json)
  add_test(NAME e2e.hidden.json COMMAND ${_hidden_json})
  set_tests_properties(e2e.hidden.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"architecture\": \"llama\",\n *\"sequences\": 1,\n *\"tokens\": 14,\n *\"layers\": \\[\n *{\n *\"layer\": 0,\n *\"rows\": 14,\n *\"fraction_non_negative\": 0.6043956")
  add_test(NAME e2e.hidden.json_keys COMMAND ${_hidden_json})
  set_tests_properties(e2e.hidden.json_keys PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"mean_norm_ratio\": [0-9.]+,\n *\"fraction_non_negative_centered\": [0-9.]+,\n *\"max_abs_activation\": {\n *\"value\": [-0-9.]+,\n *\"dim\": 45,\n *\"position\": 4,")
  add_test(NAME e2e.hidden.json_without_first COMMAND ${_hidden_json})
  set_tests_properties(e2e.hidden.json_without_first PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"mean_direction_vs_embedding\": 1.0,\n *\"without_first\": {\n *\"rows\": 13,")
  add_test(NAME e2e.hidden.json_final COMMAND ${EMBSTAT_EXE} -q hidden ${_hidden_model} --ids ${_hidden_ids} --layers 3,final --format json)
  set_tests_properties(e2e.hidden.json_final PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"layer\": 3,\n *\"rows\": 14,\n *\"fraction_non_negative\": 1.0,")
  add_test(NAME e2e.hidden.text COMMAND ${EMBSTAT_EXE} -q hidden ${_hidden_model} --ids ${_hidden_ids} --layers 0,-1)
  set_tests_properties(e2e.hidden.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "1 sequences, 14 tokens.*\n0 +14 +0.6044 .*\n5 +14 .*Without the first position")
  add_test(NAME e2e.hidden.bad_id COMMAND ${EMBSTAT_EXE} -q hidden ${_hidden_model} --ids ${_hidden_bad})
  set_tests_properties(e2e.hidden.bad_id PROPERTIES LABELS data WILL_FAIL TRUE)
  add_test(NAME e2e.hidden.bad_id_message COMMAND ${EMBSTAT_EXE} -q hidden ${_hidden_model} --ids ${_hidden_bad})
  set_tests_properties(e2e.hidden.bad_id_message PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "embstat: token id 999 is outside the vocabulary \\(0 to 511\\)")
endif()
