// Node only: WebGPU through Dawn (the `webgpu` package), installed where tfjs-backend-webgpu looks for it.
import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Sets globalThis.navigator.gpu (and the GPU* constants). Without a Vulkan driver chosen through
 * VK_ICD_FILENAMES, uses Chromium's SwiftShader (CPU Vulkan: slow but correct) when it is installed.
 * Returns the ICD in use, if one was set. */
export async function installNodeWebgpu(dawnOptions: string[] = []): Promise<string | undefined> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const nav = ((globalThis as { navigator?: object }).navigator ??= {});
  Object.defineProperty(nav, 'gpu', { value: create(dawnOptions), configurable: true });
  return process.env.VK_ICD_FILENAMES;
}
