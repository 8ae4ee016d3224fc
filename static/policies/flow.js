// The flow check page: its copy buttons (the question as a command and as an API call).
import { wireCopyButtons } from "./common.js";

wireCopyButtons();
