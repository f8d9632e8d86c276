import { editFileTool } from "./edit-file.js";
import { getSystemInfoTool } from "./get-system-info.js";
import { listDirectoryTool } from "./list-directory.js";
import { readFileTool } from "./read-file.js";
import { searchFilesTool } from "./search-files.js";
import { writeFileTool } from "./write-file.js";

/** The WASI-backed file tools and the info tool, in the order clients list them. */
export const fileTools = [readFileTool, writeFileTool, editFileTool, listDirectoryTool, searchFilesTool, getSystemInfoTool];
