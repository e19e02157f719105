import { createI18n } from 'vue-i18n'
import en from '../locales/en.ts'
import { compileMessage } from './messageCompiler.ts'
import zhCN from '../locales/zh-CN.ts'
import type { Locale } from '../stores/preferences.ts'

export type MessageSchema = typeof en

/** Composition-API i18n; the preferences store decides the locale (App.vue applies it). */
export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: 'en',
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
  messageCompiler: compileMessage,
})
