# All third-party dependencies, found from Debian 12 packages.
# Boost is pinned to 1.74: Debian's libmsgpack-cxx-dev depends on libboost-dev (1.74),
# and Boost 1.81's dev packages conflict with it.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(GTest REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)

if(NOT TARGET wsgw::rapidjson)
  add_library(wsgw_rapidjson INTERFACE)
  # RapidJSON's config on Debian only sets RAPIDJSON_INCLUDE_DIRS.
  target_include_directories(wsgw_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
  target_compile_definitions(wsgw_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
  add_library(wsgw::rapidjson ALIAS wsgw_rapidjson)
endif()

if(NOT TARGET wsgw::boost)
  add_library(wsgw_boost INTERFACE)
  target_link_libraries(wsgw_boost INTERFACE Boost::boost Threads::Threads)
  # Asio: no deprecated interfaces; Beast: no Boost.System library needed in 1.74 header-only mode.
  target_compile_definitions(wsgw_boost INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE
                             BOOST_BEAST_USE_STD_STRING_VIEW)
  add_library(wsgw::boost ALIAS wsgw_boost)
endif()
