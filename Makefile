# fusebill: `make` builds into build/, `make test` installs what is missing, builds and
# runs every test, `make run` runs an example script against the in-process sandbox,
# `make bench` prints the benchmark tables, `make asan` runs the tests under sanitizers.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# Expanded lazily (=, not :=) so `make deps` can install pkg-config and the -dev
# packages before anything asks for their flags.
PKG_CFLAGS = $(shell pkg-config --cflags lua5.4 libcurl libmicrohttpd libedit)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Icore $(PART_INC)
LUA_LIBS   = $(shell pkg-config --libs lua5.4) -lm
# The host program links Lua statically, as Debian's lua5.4 does: one library less
# to load at start-up (see core/fbh_plugin.h for the rest of that story).
LUA_STATIC = $(shell $(CC) -print-file-name=liblua5.4.a)
CURL_LIBS  = $(shell pkg-config --libs libcurl)
MHD_LIBS   = $(shell pkg-config --libs libmicrohttpd)
EDIT_LIBS  = $(shell pkg-config --libs libedit)
# lua-cjson is the one JSON codec; linked statically so the binary has no extra .so to find.
# (the .pc file's libdir says /usr/lib, but Debian puts the archive in the multiarch dir: ask the compiler)
CJSON_LIB  = $(shell $(CC) -print-file-name=liblua5.4-cjson.a)

# Debian packages, and why each is here (the README repeats this list).
DEB_PACKAGES = gcc make pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev lua-cjson lua-cjson-dev \
               libmicrohttpd-dev libedit-dev lua-busted lua-check curl openssl wrk python3-requests \
               valgrind tmux luarocks lua-argparse

# ---- sources --------------------------------------------------------------------------
# One folder per part (README, Layout); every list names its files, so no part is
# picked out of another's list.
# core/engine, libfusebill: ENGINE_SRC and EMBED_SRC are what luaopen_fusebill needs
# (the Lua C module is exactly these); the engine API (fb_engine.c) and lua-cjson
# (fb_cjson.c) complete the library for C hosts.
ENGINE_SRC     = $(addprefix core/engine/,fb_client.c fb_csv.c fb_csv_read.c fb_csv_write.c fb_error.c fb_json.c \
                   fb_limits.c fb_loop.c fb_lua.c fb_rate.c fb_request.c fb_retry.c fb_secret.c fb_validate.c)
EMBED_SRC      = core/engine/fb_modules.c
ENGINE_API_SRC = core/engine/fb_engine.c
CJSON_SRC      = core/engine/fb_cjson.c
# core/host: the fusebill program, and the table its plugin exports.
HOST_SRC       = $(addprefix core/host/,main.c fbh_options.c fbh_check.c fbh_connect.c fbh_run.c fbh_repl.c \
                   fbh_plugin.c fbh_tools.c)
PLUGIN_SRC     = core/host/fbh_plugin_table.c
# core/sandbox: the sandbox server; main.c is fusebill-sandbox's entry point.
SANDBOX_SRC    = $(addprefix core/sandbox/,sbx_server.c sbx_options.c sbx_timer.c)
# Lua: each part embeds only its own folder (see core/engine/fb_embed.h).
CLIENT_LUA     = $(wildcard lua/fusebill/*.lua lua/fusebill/*/*.lua)
HOST_LUA       = $(wildcard lua/host/*.lua lua/host/*/*.lua)
SANDBOX_LUA    = $(wildcard lua/sandbox/*.lua)

obj = $(patsubst core/%.c,$(BUILD)/obj/%.o,$(1))
EMBED_OBJ    = $(call obj,$(EMBED_SRC)) $(BUILD)/obj/gen_client_modules.o
MODULE_OBJ   = $(call obj,$(ENGINE_SRC)) $(EMBED_OBJ)
LIB_OBJ      = $(MODULE_OBJ) $(call obj,$(ENGINE_API_SRC) $(CJSON_SRC))
SANDBOX_OBJ  = $(call obj,$(SANDBOX_SRC)) $(BUILD)/obj/gen_sandbox_modules.o
# The host program links the module searcher, the client and host modules and
# lua-cjson itself (requireable from the start) and exports them (-Wl,-E); its plugin,
# build/fusebill-host.so (the rest of the engine plus the sandbox, loaded on first
# use), uses the program's copies, so each global is defined once in the process.
HOST_OBJ     = $(call obj,$(HOST_SRC) $(CJSON_SRC)) $(EMBED_OBJ) $(BUILD)/obj/gen_host_modules.o
PLUGIN_OBJ   = $(call obj,$(PLUGIN_SRC) $(ENGINE_SRC)) $(SANDBOX_OBJ)
C_TESTS      = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*/test_*.c))

.PHONY: all deps test check run bench asan lint clean install uninstall
all: $(BUILD)/libfusebill.a $(BUILD)/fusebill-sandbox $(BUILD)/fusebill $(BUILD)/fusebill-host.so $(C_TESTS)

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# Each part sees its own folder and core/ (fusebill.h, fb_embed.h); the host also sees
# the sandbox's header, since it can start one in-process. Nothing else crosses.
$(BUILD)/obj/engine/%.o: PART_INC = -Icore/engine
$(BUILD)/obj/host/%.o: PART_INC = -Icore/host -Icore/sandbox
$(BUILD)/obj/sandbox/%.o: PART_INC = -Icore/sandbox
$(BUILD)/tests/%: PART_INC = -Icore/sandbox -Itests/lib
$(BUILD)/tests/engine/%: PART_INC = -Icore/engine -Icore/sandbox -Itests/lib
$(BUILD)/obj/%.o: core/%.c $(wildcard core/*.h core/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

GEN = lua5.4 core/tools/gen_modules.lua
$(BUILD)/gen/client_modules.c: core/tools/gen_modules.lua $(CLIENT_LUA) | $(BUILD)/gen
	$(GEN) $@ fb_client_modules lua $(CLIENT_LUA)
$(BUILD)/gen/host_modules.c: core/tools/gen_modules.lua $(HOST_LUA) | $(BUILD)/gen
	$(GEN) $@ fbh_modules lua $(HOST_LUA)
$(BUILD)/gen/sandbox_modules.c: core/tools/gen_modules.lua $(SANDBOX_LUA) | $(BUILD)/gen
	$(GEN) $@ sbx_modules lua $(SANDBOX_LUA)
$(BUILD)/obj/gen_%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libfusebill.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libfusebill-sandbox.a: $(SANDBOX_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fusebill-sandbox: $(BUILD)/obj/sandbox/main.o $(BUILD)/libfusebill-sandbox.a $(BUILD)/libfusebill.a
	$(CC) $(CFLAGS) -o $@ $^ $(CJSON_LIB) $(MHD_LIBS) $(CURL_LIBS) $(LUA_LIBS) -lpthread
# The host: Lua, lua-cjson, libedit and the embedded Lua modules; -Wl,-E exports the
# Lua API to the plugin and to C modules, as lua5.4 does. libcurl and libmicrohttpd
# come with the plugin, loaded when a script first needs them.
$(BUILD)/fusebill: $(HOST_OBJ)
	$(CC) $(CFLAGS) -Wl,-E -o $@ $^ $(CJSON_LIB) $(EDIT_LIBS) $(LUA_STATIC) -lm -ldl
$(BUILD)/fusebill-host.so: $(PLUGIN_OBJ)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(MHD_LIBS) $(CURL_LIBS) -lpthread

$(BUILD)/tests/%: tests/%.c $(wildcard tests/lib/*.h) $(BUILD)/libfusebill-sandbox.a $(BUILD)/libfusebill.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libfusebill-sandbox.a $(BUILD)/libfusebill.a \
	  $(CJSON_LIB) $(MHD_LIBS) $(CURL_LIBS) $(LUA_LIBS) -lpthread

$(BUILD)/gen:
	mkdir -p $@

# ---- running --------------------------------------------------------------------------
# `make test` works on a fresh machine: it installs what is missing first.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@tests/run $(BUILD)

check: all
	@tests/run $(BUILD)

run:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/fusebill --sandbox scripts/normalise_customers.lua

bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run $(BUILD)

# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/, same tests. GCC leaves
# float-cast-overflow out of "undefined": a double cast to an int it does not fit is UB too.
asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow" all
	@ASAN_OPTIONS=detect_leaks=1 tests/run build-asan

lint:
	luacheck lua scripts tests

clean:
	rm -rf build build-asan

# ---- install and embedding ------------------------------------------------------------
# build/libfusebill.so: the engine as a shared library. The engine API preloads
# luaopen_cjson, so an embedding host need not know about cjson: the .so depends on
# lua-cjson's shared library (Debian's liblua5.4-cjson.a is not PIC, so it cannot go
# into a .so; static hosts link that archive instead, see fusebill.pc.in).
# build/lua/fusebill.so: the Lua C module for stock lua5.4. Like Debian's cjson.so it
# does not link liblua (the interpreter provides the Lua API) and it leaves out the
# engine API (fb_engine.o), so `require "cjson"` finds lua-cjson's own module.
SONAME     = libfusebill.so.0
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
LUA_CMOD_DIR ?= $(LIBDIR)/lua/5.4
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

all: $(BUILD)/libfusebill.so $(BUILD)/lua/fusebill.so $(BUILD)/fusebill.pc

$(BUILD)/libfusebill.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $^ -llua5.4-cjson $(CURL_LIBS) $(LUA_LIBS)
	ln -sf libfusebill.so $(BUILD)/$(SONAME)

$(BUILD)/lua/fusebill.so: $(MODULE_OBJ) | $(BUILD)/lua
	$(CC) $(CFLAGS) -shared -o $@ $^ $(if $(CURL_LIBDIR),-L$(CURL_LIBDIR)) $(CURL_LIBS)

# For the rockspec (luarocks' make backend passes LUA_INCDIR, CURL_INCDIR, CURL_LIBDIR).
ALL_CFLAGS += $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) $(if $(CURL_INCDIR),-I$(CURL_INCDIR))
.PHONY: lua-module install-lua-module
lua-module: $(BUILD)/lua/fusebill.so
install-lua-module: $(BUILD)/lua/fusebill.so
	install -d $(DESTDIR)$(LUA_CMOD_DIR)
	install -m 755 $< $(DESTDIR)$(LUA_CMOD_DIR)/fusebill.so

# The .pc file names the install paths, so `make install` writes it afresh for the
# PREFIX it is given; build/fusebill.pc (default PREFIX) is there to inspect.
FB_VERSION = $(shell sed -n 's/^\#define FB_VERSION "\(.*\)"/\1/p' core/fusebill.h)
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
             -e 's|@VERSION@|$(FB_VERSION)|g'
$(BUILD)/fusebill.pc: core/fusebill.pc.in core/fusebill.h Makefile
	$(PC_SED) $< > $@

$(BUILD)/lua:
	mkdir -p $@

# DESTDIR for packagers; PREFIX=... for a private tree (tests install into a temp dir).
# The host finds its plugin at ../lib/fusebill/ from its own directory: PLUGINDIR
# follows BINDIR, not LIBDIR, so the two stay side by side.
PLUGINDIR = $(BINDIR)/../lib/fusebill
install: $(BUILD)/fusebill $(BUILD)/fusebill-host.so $(BUILD)/fusebill-sandbox $(BUILD)/libfusebill.a \
         $(BUILD)/libfusebill.so $(BUILD)/lua/fusebill.so $(BUILD)/fusebill.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(LUA_CMOD_DIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PLUGINDIR)
	install -m 755 $(BUILD)/fusebill $(BUILD)/fusebill-sandbox $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/fusebill-host.so $(DESTDIR)$(PLUGINDIR)/
	install -m 644 core/fusebill.h $(DESTDIR)$(INCLUDEDIR)/fusebill.h
	install -m 644 $(BUILD)/libfusebill.a $(DESTDIR)$(LIBDIR)/libfusebill.a
	install -m 755 $(BUILD)/libfusebill.so $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfusebill.so
	$(PC_SED) core/fusebill.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/fusebill.pc
	install -m 755 $(BUILD)/lua/fusebill.so $(DESTDIR)$(LUA_CMOD_DIR)/fusebill.so
	install -m 644 core/fusebill.1 $(DESTDIR)$(MANDIR)/man1/fusebill.1

uninstall:
	rm -f $(DESTDIR)$(PLUGINDIR)/fusebill-host.so
	-rmdir $(DESTDIR)$(PLUGINDIR) 2>/dev/null
	rm -f $(DESTDIR)$(BINDIR)/fusebill $(DESTDIR)$(BINDIR)/fusebill-sandbox \
	  $(DESTDIR)$(INCLUDEDIR)/fusebill.h $(DESTDIR)$(LIBDIR)/libfusebill.a \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libfusebill.so \
	  $(DESTDIR)$(PKGCONFIGDIR)/fusebill.pc $(DESTDIR)$(LUA_CMOD_DIR)/fusebill.so \
	  $(DESTDIR)$(MANDIR)/man1/fusebill.1
