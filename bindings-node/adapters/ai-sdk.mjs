// ES module entry of agen-policy/ai-sdk: the same objects as the CommonJS one.
import aiSdk from './ai-sdk.js'

export const { guardTools, ToolRefused } = aiSdk
export default aiSdk
