/**
 * The unsubscribe link's words in the 11 languages of the API's Unsubscribe option (the international
 * SDK's numbering: "1" English … "11" Indonesian), and the confirmation page's.
 */

/** Link text, confirmation page title and body, and the page's `lang`. */
export interface UnsubscribeWords { lang: string; link: string; done: string; invalid: string }

export const UNSUBSCRIBE_WORDS: Readonly<Record<string, UnsubscribeWords>> = {
  1: { lang: 'en', link: 'Unsubscribe', done: 'You have been unsubscribed and will receive no more emails from this sender.', invalid: 'This unsubscribe link is not valid.' },
  2: { lang: 'zh-Hans', link: '退订', done: '您已成功退订，将不再收到该发件人的邮件。', invalid: '此退订链接无效。' },
  3: { lang: 'zh-Hant', link: '退訂', done: '您已成功退訂，將不再收到該寄件者的郵件。', invalid: '此退訂連結無效。' },
  4: { lang: 'es', link: 'Cancelar suscripción', done: 'Se ha cancelado su suscripción y no recibirá más correos de este remitente.', invalid: 'Este enlace para cancelar la suscripción no es válido.' },
  5: { lang: 'fr', link: 'Se désabonner', done: 'Votre désabonnement est confirmé : vous ne recevrez plus de courriels de cet expéditeur.', invalid: 'Ce lien de désabonnement n’est pas valide.' },
  6: { lang: 'de', link: 'Abmelden', done: 'Sie wurden abgemeldet und erhalten keine E-Mails mehr von diesem Absender.', invalid: 'Dieser Abmeldelink ist ungültig.' },
  7: { lang: 'ja', link: '配信停止', done: '配信を停止しました。この送信者からのメールは今後届きません。', invalid: 'この配信停止リンクは無効です。' },
  8: { lang: 'ko', link: '수신 거부', done: '수신 거부가 완료되었습니다. 이 발신자의 메일을 더 이상 받지 않습니다.', invalid: '이 수신 거부 링크는 유효하지 않습니다.' },
  9: { lang: 'ar', link: 'إلغاء الاشتراك', done: 'تم إلغاء اشتراكك ولن تصلك رسائل أخرى من هذا المرسل.', invalid: 'رابط إلغاء الاشتراك هذا غير صالح.' },
  10: { lang: 'th', link: 'ยกเลิกการรับข่าวสาร', done: 'คุณได้ยกเลิกการรับข่าวสารแล้ว และจะไม่ได้รับอีเมลจากผู้ส่งรายนี้อีก', invalid: 'ลิงก์ยกเลิกการรับข่าวสารนี้ไม่ถูกต้อง' },
  11: { lang: 'id', link: 'Berhenti berlangganan', done: 'Anda telah berhenti berlangganan dan tidak akan menerima email lagi dari pengirim ini.', invalid: 'Tautan berhenti berlangganan ini tidak valid.' },
};

/** The words of a language option, English when it has none. */
export function unsubscribeWords(language: string): UnsubscribeWords {
  return UNSUBSCRIBE_WORDS[language] ?? UNSUBSCRIBE_WORDS[1];
}
