// antd's defaults fall short of WCAG AA text contrast in places an operator reads all the time:
// links (#1677ff on white, 4.1:1), warning text (#faad14, 1.7:1; #ad6800 is still 4.4:1), placeholders (0.25 alpha). These
// overrides keep every text at 4.5:1 or more in both themes; the seed stays antd's blue family.
// Shared by App.vue and the build's static antd stylesheet (scripts/antdStyles.ts), whose token keys must match.
export const LIGHT_TOKENS = {
  colorPrimary: '#0958d9',
  colorLink: '#0958d9',
  colorWarningText: '#874d00',
  colorWarningTextActive: '#874d00',
  colorTextPlaceholder: 'rgba(0, 0, 0, 0.56)',
}
export const DARK_TOKENS = {
  colorLink: '#4096ff',
  colorPrimaryText: '#4096ff',
  colorWarningTextActive: '#d89614',
  colorTextPlaceholder: 'rgba(255, 255, 255, 0.55)',
}
