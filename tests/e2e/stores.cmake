# End-to-end tests of the i-quant and ternary types through every verb, and of the Ollama and
# LM Studio stores: `ollama:` MODEL arguments and the main job's listing (cli/main_job.cpp,
# embstat/formats/model_stores.cpp). Exit status + output go through pairs.cmake's runner; two
# commands printing the same CSV table (first field cut) through sample.cmake's.

set(_quant ${EMBSTAT_SHARED_DATA}/gguf-quant)
if(EXISTS ${_quant}/emb256x128-iq3_s.gguf)
  # Each file holds token_embd.weight in its type and ref.dequantized_f32, ggml's own decoding of
  # it: every statistic on the first must equal the one on the second.
  foreach(type iq2_xxs iq3_s iq1_s tq2_0)
    set(_f ${_quant}/emb256x128-${type}.gguf)
    foreach(verb sample pairs)
      add_test(NAME e2e.quant.${type}.${verb}_equals_ggml_decoding COMMAND ${CMAKE_COMMAND}
        "-DCMD=${EMBSTAT_EXE};-q;${verb};${_f};--format;csv"
        "-DCMD2=${EMBSTAT_EXE};-q;${verb};${_f};--tensor;ref.dequantized_f32;--format;csv"
        -P ${EMBSTAT_E2E_DIR}/sample.cmake)
      set_tests_properties(e2e.quant.${type}.${verb}_equals_ggml_decoding PROPERTIES LABELS data)
    endforeach()
  endforeach()
  set(_iq3 ${_quant}/emb256x128-iq3_s.gguf)
  add_test(NAME e2e.quant.iq3_s.inspect COMMAND ${EMBSTAT_EXE} inspect ${_iq3})
  set_tests_properties(e2e.quant.iq3_s.inspect PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "tensor +token_embd.weight\nshape +128 rows × 256 dim[^\n]*\ndtype +IQ3_S\n.*zero rows +0")
  add_test(NAME e2e.quant.iq3_s.geometry_equals_ggml_decoding COMMAND ${CMAKE_COMMAND}
    "-DCMD=${EMBSTAT_EXE};-q;geometry;${_iq3};--format;csv"
    "-DCMD2=${EMBSTAT_EXE};-q;geometry;${_iq3};--tensor;ref.dequantized_f32;--format;csv"
    -P ${EMBSTAT_E2E_DIR}/sample.cmake)
  add_test(NAME e2e.quant.iq3_s.signs_only_equals_ggml_decoding COMMAND ${CMAKE_COMMAND}
    "-DCMD=${EMBSTAT_EXE};-q;pairs;${_iq3};--signs-only;--format;csv"
    "-DCMD2=${EMBSTAT_EXE};-q;pairs;${_iq3};--signs-only;--tensor;ref.dequantized_f32;--format;csv"
    -P ${EMBSTAT_E2E_DIR}/sample.cmake)
  add_test(NAME e2e.quant.iq3_s.tokens COMMAND ${EMBSTAT_EXE} -q tokens ${_iq3})
  add_test(NAME e2e.quant.iq3_s.neighbors COMMAND ${EMBSTAT_EXE} -q neighbors ${_iq3} 5)
  add_test(NAME e2e.quant.iq3_s.report COMMAND ${EMBSTAT_EXE} -q report ${_iq3}
    -o ${CMAKE_CURRENT_BINARY_DIR}/e2e_iq3_s_report.html)
  add_test(NAME e2e.quant.iq3_s.export COMMAND ${EMBSTAT_EXE} -q export ${_iq3}
    -o ${CMAKE_CURRENT_BINARY_DIR}/e2e_iq3_s.npy)
  set_tests_properties(e2e.quant.iq3_s.geometry_equals_ggml_decoding e2e.quant.iq3_s.signs_only_equals_ggml_decoding
    e2e.quant.iq3_s.tokens
    e2e.quant.iq3_s.neighbors e2e.quant.iq3_s.report e2e.quant.iq3_s.export PROPERTIES LABELS data)

  # Stores built here: an Ollama store with a good model, a manifest that is not JSON, one naming
  # a missing blob, one whose blob is not GGUF and one that is a symlink loop; an LM Studio store
  # with an IQ3_S model.
  set(_home ${CMAKE_CURRENT_BINARY_DIR}/e2e_stores_home)
  file(REMOVE_RECURSE ${_home})
  set(_ol ${_home}/ollama)
  set(_lib ${_ol}/manifests/registry.ollama.ai/library)
  string(REPEAT "a" 64 _hex_good)
  string(REPEAT "c" 64 _hex_missing)
  string(REPEAT "d" 64 _hex_text)
  set(_layers_pre "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:")
  file(WRITE ${_lib}/tiny/q4 "${_layers_pre}${_hex_good}\",\"size\":292320}]}")
  file(WRITE ${_lib}/missing/latest "${_layers_pre}${_hex_missing}\",\"size\":1}]}")
  file(WRITE ${_lib}/notgguf/latest "${_layers_pre}${_hex_text}\",\"size\":5}]}")
  file(WRITE ${_lib}/notjson/latest "<html>not a manifest</html>")
  file(MAKE_DIRECTORY ${_lib}/loop)
  file(CREATE_LINK latest ${_lib}/loop/latest SYMBOLIC)
  file(MAKE_DIRECTORY ${_ol}/blobs)
  file(COPY_FILE ${_quant}/emb64x512-q4_0.gguf ${_ol}/blobs/sha256-${_hex_good})
  file(WRITE ${_ol}/blobs/sha256-${_hex_text} "hello")
  file(MAKE_DIRECTORY ${_home}/lmstudio/acme/Tiny-GGUF)
  file(COPY_FILE ${_iq3} ${_home}/lmstudio/acme/Tiny-GGUF/tiny-IQ3_S.gguf)
  set(_env ${CMAKE_COMMAND} -E env HOME=${_home} HF_HOME=${_home}/hf HF_HUB_CACHE=${_home}/hf/hub
    XDG_CACHE_HOME=${_home}/.cache LLAMA_CACHE=${_home}/llama OLLAMA_MODELS=${_ol} LMSTUDIO_MODELS=${_home}/lmstudio)

  add_test(NAME e2e.stores.main_job_lists_everything COMMAND ${_env} ${EMBSTAT_EXE} -q)
  set_tests_properties(e2e.stores.main_job_lists_everything PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "Looked in:\n.*  [^\n]*e2e_stores_home/ollama\n  [^\n]*e2e_stores_home/lmstudio\nFound 6 models:\n  ollama:loop:latest  \\[ollama\\]  cannot be read: [^\n]*symbolic links\n  ollama:missing:latest  \\[ollama\\]  cannot be read: [^\n]*blob missing[^\n]*\n  ollama:notgguf:latest  \\[ollama\\]  cannot be read: [^\n]*not a GGUF file\n  ollama:notjson:latest  \\[ollama\\]  cannot be read: [^\n]*notjson/latest: offset [0-9]+: [^\n]*\n  ollama:tiny:q4  \\[ollama\\]  gguf  Q4_0  [0-9.]+ KiB\n  tiny-IQ3_S.gguf  \\[lmstudio\\]  gguf  IQ3_S  [0-9.]+ KiB\n\n.*tiny-IQ3_S.gguf +128 +256 .*ollama:tiny:q4 +512 +64 .*random N\\(0,1\\) 512×64.*random N\\(0,1\\) 128×256")
  add_test(NAME e2e.stores.inspect_ollama COMMAND ${_env} ${EMBSTAT_EXE} inspect ollama:library/tiny:q4)
  set_tests_properties(e2e.stores.inspect_ollama PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "model +ollama:tiny:q4\nformat +gguf\nfiles +[^\n]*manifests/registry.ollama.ai/library/tiny/q4\n +[^\n]*blobs/sha256-a+\n.*dtype +Q4_0\n.*note +Ollama model tiny:q4: manifest [^\n]*, blob [^\n]* \\(292320 bytes\\)")
  add_test(NAME e2e.stores.ollama_missing_blob COMMAND ${CMAKE_COMMAND}
    "-DCMD=${_env};${EMBSTAT_EXE};inspect;ollama:missing" -DRC=3
    "-DEXPECT=^embstat: [^\n]*blobs/sha256-c+: blob missing: manifest [^\n]*missing/latest names it for missing:latest\n$"
    -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
  add_test(NAME e2e.stores.ollama_not_pulled COMMAND ${CMAKE_COMMAND}
    "-DCMD=${_env};${EMBSTAT_EXE};sample;ollama:qwen3:0.6b" -DRC=3
    "-DEXPECT=embstat: ollama:qwen3:0.6b: no Ollama manifest for qwen3:0.6b \\(looked for manifests/registry.ollama.ai/library/qwen3/0.6b in [^\n]*e2e_stores_home/ollama\\)"
    -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
  set_tests_properties(e2e.stores.ollama_missing_blob e2e.stores.ollama_not_pulled PROPERTIES LABELS data)
endif()
