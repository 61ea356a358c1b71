/* fusebill.csv's C half: an RFC 4180 reader (fb_csv_read.c) and writer
 * (fb_csv_write.c) working on Lua file handles. lua/fusebill/csv.lua is the
 * public face: it checks options, opens paths and documents the behaviour. */
#ifndef FB_CSV_H
#define FB_CSV_H

#include <lua.h>
#include <lauxlib.h>

/* Sets core.csv_reader and core.csv_writer in the table on top. */
void fb_csv_open(lua_State *L);

/* core.csv_reader(file, name, owns, header) and core.csv_writer(file, name, owns,
 * columns, crlf, bom, header): see the files that define them. */
int fb_csv_reader_new(lua_State *L);
int fb_csv_writer_new(lua_State *L);

/* Shared by both. A reader or writer keeps its file handle in user value 1 and
 * the name used in messages in user value 3. fb_csv_close_file closes that file
 * if it is still open and pushes what file:close returned (true, or nil and a
 * message); a file closed already gives true. */
int fb_csv_close_file(lua_State *L, int ud);

/* Gives the new userdata at ud its metatable tname (made on first use from meta
 * and methods), keeps argument 1 (the file) and 2 (the name) in its user values
 * and returns the name, which lives as long as the userdata does. */
const char *fb_csv_bind(lua_State *L, int ud, const char *tname,
                        const luaL_Reg *meta, const luaL_Reg *methods);

#endif
