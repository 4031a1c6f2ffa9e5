# The HTML report's assets, compiled into embstat_output so the binary needs no node at run time.
#
# Sources: the page (embstat/output/report/page.{html,css,js}, ours) and the charting library
# (vega, vega-lite, vega-embed: their minified UMD bundles in node_modules/, installed by `npm ci`
# from package-lock.json). cmake/embed_report_assets.cmake turns them into byte arrays in
# <build>/generated/report_assets.cpp, implementing embstat/output/report_assets.hpp.
#
# node_modules/ is optional for the build: without it the library arrays are empty and
# `embstat report` says to run `npm ci` and rebuild. The glob below is re-checked on every build
# (CONFIGURE_DEPENDS), so `npm ci` followed by `cmake --build` picks the library up.

set(EMBSTAT_REPORT_PAGE_FILES
    ${PROJECT_SOURCE_DIR}/embstat/output/report/page.html
    ${PROJECT_SOURCE_DIR}/embstat/output/report/page.css
    ${PROJECT_SOURCE_DIR}/embstat/output/report/page.js)
file(GLOB EMBSTAT_REPORT_LIBRARY_FILES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/node_modules/vega/build/vega.min.js
     ${PROJECT_SOURCE_DIR}/node_modules/vega-lite/build/vega-lite.min.js
     ${PROJECT_SOURCE_DIR}/node_modules/vega-embed/build/vega-embed.min.js)
list(LENGTH EMBSTAT_REPORT_LIBRARY_FILES n_library_files)
set(library_deps "")
if(n_library_files EQUAL 3)
  set(EMBSTAT_REPORT_HAVE_LIBRARY ON)
  foreach(pkg vega vega-lite vega-embed)
    list(APPEND library_deps ${PROJECT_SOURCE_DIR}/node_modules/${pkg}/package.json)
  endforeach()
  list(APPEND library_deps ${EMBSTAT_REPORT_LIBRARY_FILES})
else()
  set(EMBSTAT_REPORT_HAVE_LIBRARY OFF)
  message(STATUS "embstat report: charting library not found in ${PROJECT_SOURCE_DIR}/node_modules "
                 "(run `npm ci` there, then rebuild); `embstat report` will say so until then")
endif()

set(EMBSTAT_REPORT_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/report_assets.cpp)
add_custom_command(
  OUTPUT ${EMBSTAT_REPORT_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUTPUT=${EMBSTAT_REPORT_ASSETS_CPP}
          -DHAVE_LIBRARY=${EMBSTAT_REPORT_HAVE_LIBRARY} -P ${PROJECT_SOURCE_DIR}/cmake/embed_report_assets.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/embed_report_assets.cmake ${EMBSTAT_REPORT_PAGE_FILES} ${library_deps}
  COMMENT "Embedding the HTML report's page and charting library"
  VERBATIM)
target_sources(embstat_output PRIVATE ${EMBSTAT_REPORT_ASSETS_CPP})
